import AsyncHTTPClient
import Foundation

/// The FCM clients of one pusher: one per app, each with its own service
/// account (and so its own access token), sharing one HTTP client.
public struct FCMApps: Sendable {
    private let clients: [String: FCMClient]

    /// - Parameter accounts: service account by app id.
    public init(
        accounts: [String: FCMServiceAccount], httpClient: HTTPClient, configuration: FCMConfiguration = .init(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws(FCMServiceAccountError) {
        var clients: [String: FCMClient] = [:]
        for (app, account) in accounts {
            clients[app] = try FCMClient(account: account, httpClient: httpClient, configuration: configuration, now: now)
        }
        self.clients = clients
    }

    /// Clients built elsewhere (e.g. with different endpoints), by app id.
    public init(clients: [String: FCMClient]) {
        self.clients = clients
    }

    public var appIds: [String] { clients.keys.sorted() }

    public func client(for app: String) -> FCMClient? { clients[app] }

    /// Sends through `app`'s credentials; an unknown app is a permanent failure.
    public func send(_ message: FCMMessage, app: String, validateOnly: Bool = false) async -> FCMResult {
        guard let client = clients[app] else {
            return FCMResult(
                outcome: .permanent(reason: "no FCM credentials for app \"\(app)\""), status: nil, errorCode: "UNKNOWN_APP",
                latency: .zero, attempts: 0)
        }
        return await client.send(message, validateOnly: validateOnly)
    }
}
