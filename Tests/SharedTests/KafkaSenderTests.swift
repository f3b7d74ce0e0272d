import BeaconCore
import BeaconKafka
import BeaconTestSupport
import Foundation
import Glibc
import Logging
import Testing

/// The one Kafka delivery primitive: awaited sends (async and blocking),
/// the hot path's inbox, readiness that follows deliveries, and a producer
/// replaced after the broker forgot it.
@Suite(.serialized, .timeLimit(.minutes(3))) struct KafkaSenderTests {
    let run = UUID().uuidString.lowercased().prefix(8).description
    static let logger = Logger(label: "test")

    func sender(brokers: String, readiness: ReadinessCondition? = nil, messageTimeoutMs: Int? = nil) throws -> KafkaSender {
        try KafkaSender(
            config: KafkaProducerConfig(brokers: brokers, lingerMs: 1, messageTimeoutMs: messageTimeoutMs, logHandler: KafkaLog.silent),
            name: "test", drainTimeout: .seconds(5), readiness: readiness, logger: Self.logger)
    }

    @Test func awaitedAndBlockingSendsReturnTheirReportsInOrder() async throws {
        let brokers = try TestEnvironment.kafkaBrokers(), topic = "sender.\(run)"
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(topic, 2)], timeoutMs: 10_000)
        let sender = try sender(brokers: brokers)
        let one = try await sender.send(OutgoingMessage(topic: topic, key: "k", value: Array("one".utf8)))
        #expect(one.error == nil && one.topic == topic && one.offset >= 0)
        let batch = (0..<50).map { OutgoingMessage(topic: topic, key: "k\($0 % 5)", value: Array("m\($0)".utf8)) }
        let reports = try await sender.send(batch)
        #expect(reports.count == 50 && reports.allSatisfy { $0.error == nil })
        // One key, one partition, in order.
        let forKey0 = reports.enumerated().filter { $0.offset % 5 == 0 }.map(\.element)
        #expect(Set(forKey0.map(\.partition)).count == 1)
        #expect(forKey0.map(\.offset) == forKey0.map(\.offset).sorted())
        // From a thread of its own, blocking.
        let blocking = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try sender.sendAndWait(batch.prefix(10).map { $0 }) })
            }
        }
        #expect(blocking.count == 10 && blocking.allSatisfy { $0.error == nil })
        #expect(await sender.close() == .finished)
    }

    @Test func theHotPathReportsToItsInboxWithTheCallersTokens() async throws {
        let brokers = try TestEnvironment.kafkaBrokers(), topic = "sender.hot.\(run)"
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(topic, 1)], timeoutMs: 10_000)
        let sender = try sender(brokers: brokers)
        for token in UInt64(1)...200 {
            try sender.enqueue(OutgoingMessage(topic: topic, key: nil, value: Array("v\(token)".utf8)), token: token)
        }
        var tokens: Set<UInt64> = []
        try await Await.condition("200 reports in the inbox") {
            sender.reports.wait(timeout: .milliseconds(50))
            for report in sender.reports.takeAll() {
                #expect(report.error == nil)
                tokens.insert(report.token)
            }
            return tokens.count == 200
        }
        #expect(tokens == Set(1...200))
        await sender.close()
    }

    /// Reports racing with waits that time out must not leave the inbox
    /// waking every later wait at once (the enricher then spun at 60% of a
    /// core at 1,000 events/s).
    @Test func anEmptyInboxWaitsAfterReportsRacedWithTimedOutWaits() async {
        let inbox = DeliveryInbox()
        // Reports trickle in at about the pace of the waits' timeouts, so that
        // many arrive just as a wait gives up.
        let adding = Task.detached {
            for token in UInt64(0)..<2_000 {
                inbox.add(DeliveryReport(token: token, topic: "t", partition: 0, offset: 0, error: nil))
                usleep(UInt32.random(in: 5...60))
            }
        }
        var taken = 0
        while taken < 2_000 {
            inbox.wait(timeout: .microseconds(Int64.random(in: 5...60)))
            taken += inbox.takeAll().count
        }
        await adding.value
        let started = ContinuousClock.now
        inbox.wait(timeout: .milliseconds(200))
        #expect(ContinuousClock.now - started >= .milliseconds(190), "an empty inbox returned from a 200 ms wait early")
    }

    @Test func readinessFailsWithDeliveriesAndReturnsWithTheNextSuccess() async throws {
        let topic = "sender.ready.\(run)"
        let kafka = try await ProxiedKafka.start(topics: [(topic, 1)])
        let readiness = Readiness()
        let condition = ReadinessCondition("kafka", in: readiness, logger: Self.logger)
        let sender = try sender(brokers: kafka.brokers, readiness: condition, messageTimeoutMs: 1_500)
        #expect(condition.isReady, "ready until a delivery says otherwise")
        try await sender.send(OutgoingMessage(topic: topic, key: "k", value: [1]))
        await kafka.outage()
        await #expect(throws: KafkaError.self) { try await sender.send(OutgoingMessage(topic: topic, key: "k", value: [2])) }
        #expect(!condition.isReady)
        #expect(readiness.failing["kafka"]?.hasPrefix("Kafka deliveries failing") == true)
        try await kafka.recover()
        // Messages timed out in flight: the broker then fences the producer's
        // bumped epoch, and only a new producer gets through.
        try await Await.condition("a delivery after the outage", timeout: .seconds(60)) {
            (try? await sender.send(OutgoingMessage(topic: topic, key: "k", value: [3]))) != nil
        }
        #expect(condition.isReady)
        await sender.close()
        await kafka.stop()
    }

    /// A restarted memory-only broker has forgotten the idempotent producer:
    /// the sender fails what was outstanding, replaces its producer, and the
    /// next send goes through.
    @Test func aProducerTheBrokerForgotIsReplaced() async throws {
        let port = FreePort.next(), brokers = "127.0.0.1:\(port)", topic = "sender.restart"
        var broker = try TestTansu(port: port)
        try await Await.condition("the private broker") {
            (try? KafkaAdmin.metadata(brokers: brokers, timeoutMs: 500, logHandler: KafkaLog.silent)) != nil
        }
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(topic, 1)], timeoutMs: 10_000)
        let sender = try sender(brokers: brokers)
        try await sender.send(OutgoingMessage(topic: topic, key: "k", value: Array("before".utf8)))

        broker.stop()
        broker = try TestTansu(port: port)
        try await Await.condition("the restarted broker") {
            (try? KafkaAdmin.metadata(brokers: brokers, timeoutMs: 500, logHandler: KafkaLog.silent)) != nil
        }
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(topic, 1)], timeoutMs: 10_000)
        // The first sends fail (purged with the broken producer); a later one is delivered by its replacement.
        var failures = 0
        try await Await.condition("a delivery through a replaced producer", timeout: .seconds(90)) {
            do {
                try await sender.send(OutgoingMessage(topic: topic, key: "k", value: Array("after".utf8)))
                return true
            } catch {
                failures += 1
                return false
            }
        }
        #expect(failures >= 1, "the broken producer's sends are reported as failed, not lost in silence")
        await sender.close()
        broker.stop()
    }
}
