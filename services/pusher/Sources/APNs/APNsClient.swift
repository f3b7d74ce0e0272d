import AsyncHTTPClient
import BeaconCore
import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// How an ``APNsClient`` connects and retries.
public struct APNsClientConfiguration: Sendable {
    /// HTTP/2 connections kept to APNs; requests are spread over them in turn,
    /// and each carries as many concurrent streams as the server allows.
    public var connections: Int
    public var connectTimeout: Duration
    /// From sending a request to having its whole answer.
    public var requestTimeout: Duration
    /// An unused connection is closed after this long. Apple asks providers to keep connections open.
    public var idleTimeout: Duration
    /// TLS for the connection; nil uses the system's trust roots. Tests pass
    /// one that trusts their own CA. ALPN is set by the client (h2).
    public var tlsConfiguration: TLSConfiguration?
    /// Age at which the provider token is re-signed; Apple wants 20 to 60 minutes.
    public var tokenRefreshInterval: Duration
    /// Retries for 429, 5xx and connection failures in ``APNsClient/send(_:retry:)``.
    public var retry: PushRetryPolicy
    /// How waits between attempts are taken; tests may record instead of waiting.
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(
        connections: Int = 2,
        connectTimeout: Duration = .seconds(10),
        requestTimeout: Duration = .seconds(30),
        idleTimeout: Duration = .seconds(600),
        tlsConfiguration: TLSConfiguration? = nil,
        tokenRefreshInterval: Duration = APNsTokenProvider.defaultRefreshInterval,
        retry: PushRetryPolicy = .default,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        precondition(connections >= 1, "APNs needs at least one connection")
        self.connections = connections
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.tlsConfiguration = tlsConfiguration
        self.tokenRefreshInterval = tokenRefreshInterval
        self.retry = retry
        self.sleep = sleep
    }
}

/// Something that delivers APNs notifications; the pusher depends on this so
/// that it can be driven without a network.
public protocol APNsSending: Sendable {
    func send(_ notification: APNsNotification, retry: PushRetryPolicy?) async -> APNsDelivery
}

extension APNsSending {
    /// Sends with the sender's own retry policy.
    public func send(_ notification: APNsNotification) async -> APNsDelivery {
        await send(notification, retry: nil)
    }
}

/// Sends notifications to APNs over HTTP/2 with token authentication.
///
/// One client holds `configuration.connections` HTTP/2 connections (one
/// AsyncHTTPClient pool each) and multiplexes concurrent sends over them; it
/// is safe to call from many tasks at once. Call ``shutdown()`` when done.
public final class APNsClient: APNsSending {
    public let credentials: APNsCredentials
    public let configuration: APNsClientConfiguration
    public let tokenProvider: APNsTokenProvider
    private let clients: [HTTPClient]
    private let nextClient = Atomic<Int>(0)

    /// - Parameters:
    ///   - tokenProvider: a provider to share or to test with; by default one is made from `credentials`.
    ///   - eventLoopGroup: the NIO event loops to run on; AsyncHTTPClient's shared group by default.
    public init(
        credentials: APNsCredentials,
        configuration: APNsClientConfiguration = APNsClientConfiguration(),
        tokenProvider: APNsTokenProvider? = nil,
        eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup
    ) {
        self.credentials = credentials
        self.configuration = configuration
        self.tokenProvider = tokenProvider
            ?? APNsTokenProvider(credentials: credentials, refreshInterval: configuration.tokenRefreshInterval)
        var http = HTTPClient.Configuration(
            tlsConfiguration: configuration.tlsConfiguration,
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(configuration.connectTimeout)),
            // APNs speaks HTTP/2 only: one connection per pool carries all streams. A limit of 1
            // also keeps the first burst, sent before ALPN has said "h2", from opening more.
            connectionPool: .init(
                idleTimeout: TimeAmount(configuration.idleTimeout),
                concurrentHTTP1ConnectionsPerHostSoftLimit: 1
            ),
            decompression: .disabled
        )
        http.httpVersion = .automatic
        // A connection that cannot be made fails the requests waiting for it at once, so
        // that ``send(_:retry:)`` backs off by its policy instead of waiting out the timeout.
        http.connectionPool.retryConnectionEstablishment = false
        self.clients = (0..<configuration.connections).map { _ in
            HTTPClient(eventLoopGroup: eventLoopGroup, configuration: http)
        }
    }

    /// Closes every connection. The client cannot be used afterwards.
    public func shutdown() async throws {
        var firstError: (any Error)?
        for client in clients {
            do { try await client.shutdown() } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }

    /// Sends `notification`, retrying as `retry` (or the configuration's
    /// policy) allows: 429, 5xx and connection failures with backoff, and an
    /// ExpiredProviderToken once after signing a new token. Never throws; the
    /// outcome says what happened.
    public func send(_ notification: APNsNotification, retry: PushRetryPolicy? = nil) async -> APNsDelivery {
        let policy = retry ?? configuration.retry
        let started = ContinuousClock.now
        var attempts: [APNsResponse] = []
        var delays: [Duration] = []
        var refreshed = false

        attempting: while true {
            let token: APNsProviderToken
            do {
                token = try tokenProvider.currentToken()
            } catch {
                attempts.append(Self.failure(.permanent(reason: "ProviderTokenSigningFailed: \(error)"), since: .now))
                break attempting
            }
            let response = await send(notification, token: token)
            attempts.append(response)

            switch response.outcome {
            case .expiredProviderToken where !refreshed:
                refreshed = true
                do {
                    try tokenProvider.refresh(replacing: token)
                } catch {
                    break attempting
                }
            case .retryable(_, let retryAfter):
                // The retry after a token refresh is not counted against the policy.
                let failedAttempts = attempts.count - (refreshed ? 1 : 0)
                guard !Task.isCancelled,
                    let delay = policy.delay(afterAttempt: failedAttempts, retryAfter: retryAfter)
                else { break attempting }
                do {
                    try await configuration.sleep(delay)
                } catch {
                    break attempting
                }
                delays.append(delay)
            default:
                break attempting
            }
        }
        return APNsDelivery(
            response: attempts[attempts.count - 1], attempts: attempts, delays: delays,
            refreshedProviderToken: refreshed, totalLatency: ContinuousClock.now - started
        )
    }

    /// One request with the current provider token, no retries.
    public func sendOnce(_ notification: APNsNotification) async -> APNsResponse {
        do {
            return await send(notification, token: try tokenProvider.currentToken())
        } catch {
            return Self.failure(.permanent(reason: "ProviderTokenSigningFailed: \(error)"), since: .now)
        }
    }

    private func send(_ notification: APNsNotification, token: APNsProviderToken) async -> APNsResponse {
        let started = ContinuousClock.now
        let client = clients[Int(UInt(bitPattern: nextClient.wrappingAdd(1, ordering: .relaxed).oldValue) % UInt(clients.count))]

        var request = HTTPClientRequest(url: "\(credentials.endpoint)/3/device/\(notification.deviceToken)")
        request.method = .POST
        request.headers.add(name: "authorization", value: "bearer \(token.jwt)")
        request.headers.add(name: "apns-topic", value: notification.topic ?? credentials.topic)
        request.headers.add(name: "apns-push-type", value: notification.pushType.rawValue)
        if let priority = notification.priority {
            request.headers.add(name: "apns-priority", value: String(priority.rawValue))
        }
        if let expiration = notification.expiration {
            request.headers.add(name: "apns-expiration", value: String(expiration))
        }
        if let collapseId = notification.collapseId {
            request.headers.add(name: "apns-collapse-id", value: collapseId)
        }
        if let apnsId = notification.apnsId {
            request.headers.add(name: "apns-id", value: apnsId)
        }
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: notification.payload))

        do {
            let response = try await client.execute(request, timeout: TimeAmount(configuration.requestTimeout))
            let body = try await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            var reason: String?
            var unregisteredAt: Date?
            if body.readableBytes > 0, let json = try? JSONParser.parse(body.readableBytesView) {
                reason = json["reason"]?.stringValue
                switch json["timestamp"] {
                case .integer(let millis)?: unregisteredAt = Date(timeIntervalSince1970: Double(millis) / 1000)
                case .number(let millis)?: unregisteredAt = Date(timeIntervalSince1970: millis / 1000)
                default: break
                }
            }
            let retryAfter = response.headers.first(name: "retry-after").flatMap { PushRetryPolicy.parseRetryAfter($0) }
            return APNsResponse(
                outcome: .classify(status: status, reason: reason, retryAfter: retryAfter),
                status: status,
                apnsId: response.headers.first(name: "apns-id"),
                unregisteredAt: unregisteredAt,
                latency: ContinuousClock.now - started
            )
        } catch {
            return Self.failure(.retryable(reason: "ConnectionError: \(error)", retryAfter: nil), since: started)
        }
    }

    private static func failure(_ outcome: APNsOutcome, since started: ContinuousClock.Instant) -> APNsResponse {
        APNsResponse(outcome: outcome, status: nil, apnsId: nil, latency: ContinuousClock.now - started)
    }
}
