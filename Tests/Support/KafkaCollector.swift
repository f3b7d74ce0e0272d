import BeaconKafka
import Foundation

/// Reads a topic from its beginning and keeps the JSON messages a test
/// cares about (topics are shared, so tests mark their events with a run id).
public final class KafkaCollector: @unchecked Sendable {
    public private(set) var messages: [(message: KafkaMessage, json: [String: Any])] = []
    /// How often each messageId was kept (more than once: a duplicate).
    public private(set) var messageIdCounts: [String: Int] = [:]
    private let consumer: KafkaConsumer
    private let keep: ([String: Any]) -> Bool

    public init(topic: String, keep: @escaping ([String: Any]) -> Bool) throws {
        consumer = try KafkaConsumer(brokers: try TestEnvironment.kafkaBrokers(), groupId: nil)
        try consumer.assignAllPartitions(of: topic, from: .beginning)
        self.keep = keep
    }

    public var duplicates: Int { messageIdCounts.values.reduce(0) { $0 + $1 - 1 } }

    /// Reads until `done` holds (asked again after each kept message), or fails after `timeout`.
    /// Polling blocks, so it runs on a thread of its own: blocking the few threads of
    /// Swift's cooperative pool would stall every other test running in parallel.
    public func collect(until what: String, timeout: Duration = .seconds(60), _ done: @escaping (KafkaCollector) -> Bool) async throws {
        try await OffPool.run { try self.collectBlocking(until: what, timeout: timeout, done) }
    }

    /// Reads until every id in `wanted` was seen; linear in what is read.
    public func collect(messageIds wanted: Set<String>, timeout: Duration = .seconds(60)) async throws {
        try await OffPool.run { try self.collectBlocking(messageIds: wanted, timeout: timeout) }
    }

    /// Reads on until nothing has arrived for `idle`: for checking that
    /// something did *not* happen once everything before it is known to be written.
    public func drain(idle: Duration = .seconds(1)) async throws {
        try await OffPool.run { try self.drainBlocking(idle: idle) }
    }

    private func collectBlocking(until what: String, timeout: Duration, _ done: (KafkaCollector) -> Bool) throws {
        let deadline = ContinuousClock.now + timeout
        var satisfied = done(self)
        while !satisfied {
            guard ContinuousClock.now < deadline else { throw Await.TimedOut(what: "\(what) (kept \(messages.count) messages)") }
            if try readOne() { satisfied = done(self) }
        }
    }

    private func collectBlocking(messageIds wanted: Set<String>, timeout: Duration) throws {
        var missing = wanted.subtracting(messageIdCounts.keys)
        let deadline = ContinuousClock.now + timeout
        while !missing.isEmpty {
            guard ContinuousClock.now < deadline else {
                throw Await.TimedOut(what: "\(wanted.count) messageIds in Kafka; \(missing.count) missing, e.g. \(missing.prefix(3).sorted())")
            }
            if try readOne(), let id = messages.last?.json["messageId"] as? String { missing.remove(id) }
        }
    }

    private func drainBlocking(idle: Duration) throws {
        var quietSince = ContinuousClock.now
        while ContinuousClock.now - quietSince < idle {
            if try read().read { quietSince = .now }
        }
    }

    private func readOne() throws -> Bool { try read().kept }

    private func read() throws -> (read: Bool, kept: Bool) {
        guard let message = try consumer.poll(timeoutMs: 100) else { return (false, false) }
        guard let json = (try? JSONSerialization.jsonObject(with: Data(message.value))) as? [String: Any], keep(json) else {
            return (true, false)
        }
        messages.append((message, json))
        if let id = json["messageId"] as? String { messageIdCounts[id, default: 0] += 1 }
        return (true, true)
    }

    deinit { consumer.close() }
}

/// Runs blocking work on a thread of its own and awaits its result.
enum OffPool {
    static func run<T>(_ work: @escaping () throws -> T) async throws -> T {
        let box = UncheckedBox(work)
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    continuation.resume(returning: UncheckedBox(try box.value()).value)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }
}

struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
