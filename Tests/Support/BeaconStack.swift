import Foundation

/// Starts Beacon's own services for one test against the shared real
/// servers, each test on its own Redis stream so tests never see each
/// other's entries.
public struct BeaconStack: Sendable {
    public static let writeKey = "test-write-key"
    public static let app = "testapp"

    public let stream: String
    /// Where the tracker puts events of users over their own rate.
    public var overflowStream: String { stream + ":overflow" }
    /// Where the tracker writes mail registrations (and the enricher reads them).
    public var mailStream: String { "test:mail:\(runId)" }
    /// Where the tracker writes postback jobs' webhook requests (and the enricher reads them).
    public var webhookStream: String { "test:webhooks:\(runId)" }
    public let runId: String

    public init() {
        runId = UUID().uuidString.lowercased().prefix(12).description
        stream = "test:events:\(runId)"
    }

    public func trackerEnvironment(redisURL: String? = nil, extra: [String: String] = [:]) throws -> [String: String] {
        var env = [
            "BEACON_REDIS_URL": try redisURL ?? TestEnvironment.redisURL(),
            "BEACON_REDIS_STREAM": stream,
            "BEACON_REDIS_OVERFLOW_STREAM": overflowStream,
            "BEACON_REDIS_MAIL_STREAM": mailStream,
            "BEACON_REDIS_WEBHOOK_STREAM": webhookStream,
            "BEACON_TRACKER_WRITE_KEYS": "\(Self.writeKey):\(Self.app)",
            "BEACON_TRACKER_TRUSTED_PROXIES": "127.0.0.1",
        ]
        for (key, value) in extra { env[key] = value }
        return env
    }

    public func enricherEnvironment(consumer: String = "enricher-1", extra: [String: String] = [:]) throws -> [String: String] {
        var env = [
            "BEACON_REDIS_URLS": try TestEnvironment.redisURL(),
            "BEACON_REDIS_STREAM": stream,
            "BEACON_REDIS_OVERFLOW_STREAM": overflowStream,
            "BEACON_REDIS_MAIL_STREAM": mailStream,
            "BEACON_REDIS_WEBHOOK_STREAM": webhookStream,
            "BEACON_REDIS_GROUP": "enricher-\(runId)",
            "BEACON_REDIS_CONSUMER": consumer,
            "BEACON_KAFKA_BROKERS": try TestEnvironment.kafkaBrokers(),
            "BEACON_GEOIP_DATABASE": try TestEnvironment.geoipDatabase(),
        ]
        for (key, value) in extra { env[key] = value }
        return env
    }

    public func startTracker(redisURL: String? = nil, extra: [String: String] = [:]) async throws -> ServiceProcess {
        try await ServiceProcess(
            executable: "beacon-tracker", name: "tracker", port: FreePort.next(),
            environment: try trackerEnvironment(redisURL: redisURL, extra: extra))
    }

    public func startEnricher(consumer: String = "enricher-1", extra: [String: String] = [:]) async throws -> ServiceProcess {
        try await ServiceProcess(
            executable: "beacon-enricher", name: "enricher-\(consumer)", port: FreePort.next(),
            environment: try enricherEnvironment(consumer: consumer, extra: extra))
    }

    public func startLiveView(token: String) async throws -> ServiceProcess {
        try await ServiceProcess(
            executable: "beacon-liveview", name: "liveview", port: FreePort.next(),
            environment: [
                "BEACON_KAFKA_BROKERS": try TestEnvironment.kafkaBrokers(),
                "BEACON_LIVEVIEW_TOKEN": token,
                "BEACON_LIVEVIEW_TOPICS": "beacon.events,beacon.events.invalid",
            ])
    }

    /// A Segment batch of `count` track events with message ids `<runId>-<prefix>-<n>`.
    public func batch(_ count: Int, prefix: String = "m", from start: Int = 0, ip: String? = nil, userAgent: String? = nil) -> [String: Any] {
        var events: [[String: Any]] = []
        for index in start..<(start + count) {
            var context: [String: Any] = [:]
            if let ip { context["ip"] = ip }
            if let userAgent { context["userAgent"] = userAgent }
            events.append([
                "type": "track", "event": "Test Event", "userId": "user-\(index % 50)",
                "messageId": messageId(prefix, index), "properties": ["index": index, "run": runId],
                "context": context,
            ])
        }
        return ["batch": events]
    }

    public func messageId(_ prefix: String, _ index: Int) -> String { "\(runId)-\(prefix)-\(index)" }
}
