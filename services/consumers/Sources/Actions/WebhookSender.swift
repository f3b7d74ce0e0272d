import AsyncHTTPClient
import BeaconCore
import Dispatch
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Delivers webhooks with AsyncHTTPClient's connection pool. Called from a
/// consumer thread, which waits for the answer: the offset must not move on
/// before the webhook was accepted.
final class WebhookSender: Sendable {
    private let client: HTTPClient
    private let timeout: TimeAmount
    private let allowPrivate: Bool

    init(timeout: Duration, allowPrivate: Bool) {
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        self.timeout = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        self.allowPrivate = allowPrivate
    }

    /// Throws a permanent `ServiceError` for what no retry changes (a bad or
    /// private URL, a 4xx other than 408 and 429), a transient one otherwise.
    func send(_ webhook: RenderedWebhook) throws(ServiceError) {
        let url = webhook.url
        guard let parsed = URL(string: url), let host = parsed.host, ["http", "https"].contains(parsed.scheme ?? "") else {
            throw .permanent("webhook URL \(url) is not an http(s) URL")
        }
        _ = try PublicAddressGuard.checkPublic(host: host, allowPrivate: allowPrivate)
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: webhook.method)
        request.headers.add(name: "User-Agent", value: "Beacon-Webhook/1")
        for header in webhook.headers { request.headers.add(name: header.name, value: header.value) }
        if let body = webhook.body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let outcome = Mutex<Result<Int, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let client = self.client, timeout = self.timeout
        let task = Task {
            do {
                let response = try await client.execute(request, timeout: timeout)
                _ = try? await response.body.collect(upTo: 64 * 1024)
                outcome.withLock { $0 = .success(Int(response.status.code)) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        _ = task
        switch outcome.withLock({ $0 }) {
        case .success(let status) where (200..<300).contains(status): return
        case .success(let status):
            let retryable = status >= 500 || status == 408 || status == 429
            throw ServiceError(retryable ? .transient : .permanent, "webhook \(url) answered \(status)")
        case .failure(let error): throw .transient("webhook \(url) failed: \(error)")
        case nil: throw .transient("webhook \(url): no outcome")
        }
    }

    func shutdown() async {
        try? await client.shutdown()
    }
}
