import BeaconKafka
import BeaconTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// BeaconKafka against the real Kafka-protocol broker that `make test` starts
/// (BEACON_TEST_KAFKA_BROKERS). Each test creates its own uniquely named
/// topics and groups, and deletes its topics at the end. The tests block
/// their thread in librdkafka calls, so they run one at a time to leave the
/// cooperative pool (two threads on two cores) to other suites.
@Suite("BeaconKafka against the test broker", .serialized)
struct KafkaTests {
    /// Group joins on the local broker take session.timeout.ms / 2.
    static let fastGroup = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"]

    @Test("the librdkafka in use can talk to the test broker")
    func libraryVersion() throws {
        let version = kafkaLibraryVersion()
        #expect(kafkaLibraryIsAtLeast(major: 2, minor: 2), "librdkafka \(version) is older than 2.2: point LD_LIBRARY_PATH at the one from the confluent-kafka wheel")
        let metadata = try KafkaAdmin.metadata(brokers: try TestEnvironment.kafkaBrokers(), timeoutMs: 10_000)
        #expect(!metadata.brokers.isEmpty)
    }

    @Test("1000 keyed, compressed messages are delivered, read back, and each key stays in one partition in order")
    func produceAndReadBack() throws {
        let brokers = try TestEnvironment.kafkaBrokers()
        let topic = uniqueName("roundtrip")
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(name: topic, partitions: 3)], timeoutMs: 10_000)
        defer { try? KafkaAdmin.deleteTopics(brokers: brokers, topics: [topic], timeoutMs: 10_000) }

        let runId = UUID().uuidString
        let count = 1000
        let keys = (0..<13).map { "user-\($0)" }
        let deliveries = DeliveryLog()
        let producer = try KafkaProducer(
            config: KafkaProducerConfig(brokers: brokers, clientId: "beacon-tests", compression: "lz4"),
            onDelivery: { deliveries.add($0) }
        )
        for index in 0..<count {
            let key = keys[index % keys.count]
            try producer.produce(topic: topic, key: Array(key.utf8), value: Array("\(runId) \(key) \(index)".utf8), token: UInt64(index + 1))
            if index % 100 == 99 { producer.poll(timeoutMs: 0) }
        }
        try pollUntil(seconds: 30, "all delivery reports") {
            producer.poll(timeoutMs: 100)
            return deliveries.count >= count
        }
        try producer.flush(timeoutMs: 10_000)
        #expect(producer.outstanding == 0)
        #expect(producer.fatalError == nil)

        let reports = deliveries.all
        #expect(reports.count == count)
        #expect(Set(reports.map(\.token)) == Set((1...count).map { UInt64($0) }))
        for report in reports {
            #expect(report.error == nil, "token \(report.token): \(String(describing: report.error))")
            #expect(report.topic == topic)
            #expect(report.offset >= 0)
        }
        let reportByToken = Dictionary(uniqueKeysWithValues: reports.map { ($0.token, $0) })

        let consumer = try KafkaConsumer(brokers: brokers, groupId: nil)
        defer { consumer.close() }
        try consumer.assignAllPartitions(of: topic, from: .beginning)
        var received: [KafkaMessage] = []
        try pollUntil(seconds: 30, "all messages read back") {
            if let message = try consumer.poll(timeoutMs: 100),
               String(decoding: message.value, as: UTF8.self).hasPrefix(runId + " ") {
                received.append(message)
            }
            return received.count >= count
        }
        #expect(received.count == count)

        var partitionsByKey: [String: Set<Int32>] = [:]
        var indexesByKey: [String: [Int]] = [:]
        for message in received {
            let fields = String(decoding: message.value, as: UTF8.self).split(separator: " ")
            let key = String(decoding: message.key ?? [], as: UTF8.self)
            #expect(fields.count == 3 && String(fields[1]) == key)
            let index = Int(fields[2])!
            partitionsByKey[key, default: []].insert(message.partition)
            indexesByKey[key, default: []].append(index)
            #expect(message.topic == topic)
            #expect(message.timestampMs != nil)
            // The delivery report named the same place the message was read from.
            let report = reportByToken[UInt64(index + 1)]
            #expect(report?.partition == message.partition && report?.offset == message.offset)
        }
        for key in keys {
            #expect(partitionsByKey[key]?.count == 1, "\(key) landed in partitions \(partitionsByKey[key] ?? [])")
            let indexes = indexesByKey[key] ?? []
            #expect(indexes == indexes.sorted(), "\(key) was read out of order")
            #expect(indexes.count == count / keys.count + (keys.firstIndex(of: key)! < count % keys.count ? 1 : 0))
        }
        // Thirteen keys over three partitions: more than one partition is used.
        #expect(Set(received.map(\.partition)).count > 1)
    }

    @Test("an unreachable broker fails deliveries within message.timeout.ms, with librdkafka's reason")
    func unreachableBroker() throws {
        let port = UInt16(FreePort.next())
        let deliveries = DeliveryLog()
        let producer = try KafkaProducer(
            config: KafkaProducerConfig(brokers: "127.0.0.1:\(port)", messageTimeoutMs: 1_500, logHandler: KafkaLog.silent),
            onDelivery: { deliveries.add($0) }
        )
        let started = ContinuousClock.now
        for token in 1...5 as ClosedRange<UInt64> {
            try producer.produce(topic: "beacon.test.nowhere", key: nil, value: Array("event \(token)".utf8), token: token)
        }
        try pollUntil(seconds: 20, "failed delivery reports") {
            producer.poll(timeoutMs: 100)
            return deliveries.count >= 5
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        let reports = deliveries.all
        #expect(Set(reports.map(\.token)) == [1, 2, 3, 4, 5])
        for report in reports {
            let error = try #require(report.error)
            #expect(error.isMessageTimedOut)
            #expect(error.name == "_MSG_TIMED_OUT")
            #expect(error.description.contains("_MSG_TIMED_OUT"))
            #expect(error.description.lowercased().contains("timed out"), "\(error)")
        }
        // The queue empties once the failed messages are handed back.
        try pollUntil(seconds: 10, "an empty producer queue") {
            producer.poll(timeoutMs: 10)
            return producer.outstanding == 0
        }
        #expect(producer.fatalError == nil)

        // flush gives up with a timeout error; purging reports what was queued.
        try producer.produce(topic: "beacon.test.nowhere", key: Array("k".utf8), value: [], token: 6)
        let flushError = #expect(throws: KafkaError.self) { try producer.flush(timeoutMs: 200) }
        #expect(flushError?.isTimedOut == true)
        #expect(flushError?.description.contains("Local: Timed out") == true, "\(String(describing: flushError))")
        producer.purgeOutstanding()
        let purged = try #require(deliveries.all.first { $0.token == 6 })
        #expect(purged.error?.name == "_PURGE_QUEUE")
        #expect(producer.outstanding == 0)
    }

    @Test("after a broker restart the idempotent producer reports itself broken, and its replacement delivers")
    func producerRecreationAfterBrokerRestart() throws {
        // A private broker: restarting the shared one would break other tests.
        let port = UInt16(FreePort.next())
        let brokers = "127.0.0.1:\(port)"
        var broker = try privateTansu(port: port)
        defer { broker.stop() }
        let topic = "beacon.test.restart"
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(name: topic, partitions: 2)], timeoutMs: 10_000)

        let deliveries = DeliveryLog()
        let config = KafkaProducerConfig(brokers: brokers, logHandler: KafkaLog.silent)
        var producer = try KafkaProducer(config: config, onDelivery: { deliveries.add($0) })
        for token in 1...4 as ClosedRange<UInt64> {
            try producer.produce(topic: topic, key: Array("key-\(token)".utf8), value: Array("before \(token)".utf8), token: token)
        }
        try producer.flush(timeoutMs: 10_000)
        #expect(deliveries.all.allSatisfy { $0.error == nil })

        broker.stop()
        broker = try privateTansu(port: port)
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(name: topic, partitions: 2)], timeoutMs: 10_000)

        // The restarted broker no longer knows the producer id: librdkafka
        // would retry until message.timeout.ms; fatalError says so early.
        for token in 11...14 as ClosedRange<UInt64> {
            try producer.produce(topic: topic, key: Array("key-\(token)".utf8), value: Array("after \(token)".utf8), token: token)
        }
        try pollUntil(seconds: 30, "the producer to report UNKNOWN_PRODUCER_ID") {
            producer.poll(timeoutMs: 50)
            return producer.fatalError != nil
        }
        let fatal = try #require(producer.fatalError)
        #expect(fatal.name == "UNKNOWN_PRODUCER_ID" && fatal.isFatal && fatal.requiresProducerRecreation, "\(fatal)")

        // The documented recovery: purge (failed reports for what was queued),
        // replace, produce the failed ones again.
        producer.purgeOutstanding()
        let failed = deliveries.all.filter { $0.token > 10 && $0.error != nil }.map(\.token)
        #expect(Set(failed) == [11, 12, 13, 14])
        producer = try producer.makeReplacement()
        for token in failed {
            try producer.produce(topic: topic, key: Array("key-\(token)".utf8), value: Array("again \(token)".utf8), token: token + 100)
        }
        try producer.flush(timeoutMs: 10_000)
        #expect(producer.fatalError == nil)
        let redelivered = deliveries.all.filter { $0.token > 100 }
        #expect(redelivered.count == 4 && redelivered.allSatisfy { $0.error == nil }, "\(redelivered)")
    }

    @Test("configuration errors carry librdkafka's code name and message")
    func configurationErrors() throws {
        let unknown = #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(config: KafkaProducerConfig(brokers: "127.0.0.1:1", extra: ["no.such.property": "1"]), onDelivery: { _ in })
        }
        #expect(unknown?.name == "_INVALID_ARG")
        #expect(unknown?.message.contains("No such configuration property") == true, "\(String(describing: unknown))")

        let conflicting = #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(config: KafkaProducerConfig(brokers: "127.0.0.1:1", idempotent: true, acks: "1"), onDelivery: { _ in })
        }
        #expect(conflicting?.message.contains("acks") == true, "\(String(describing: conflicting))")

        let badConsumer = #expect(throws: KafkaError.self) {
            _ = try KafkaConsumer(brokers: "127.0.0.1:1", groupId: nil, extra: ["auto.offset.reset": "sideways"])
        }
        #expect(badConsumer?.message.contains("auto.offset.reset") == true, "\(String(describing: badConsumer))")
    }

    @Test("assigning a topic that does not exist fails clearly")
    func unknownTopic() throws {
        let brokers = try TestEnvironment.kafkaBrokers()
        let consumer = try KafkaConsumer(brokers: brokers, groupId: nil)
        defer { consumer.close() }
        let error = #expect(throws: KafkaError.self) {
            try consumer.assignAllPartitions(of: uniqueName("missing"), from: .beginning)
        }
        #expect(error?.isUnknownTopic == true, "\(String(describing: error))")
    }

    @Test("assigning from the end tails new messages only")
    func tailFromEnd() throws {
        let brokers = try TestEnvironment.kafkaBrokers()
        let topic = uniqueName("tail")
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(name: topic, partitions: 2)], timeoutMs: 10_000)
        defer { try? KafkaAdmin.deleteTopics(brokers: brokers, topics: [topic], timeoutMs: 10_000) }

        // One message per batch: Tansu's answer to "latest" points inside the
        // last batch (see KafkaConsumer.StartOffset.end), which is exact for
        // single-message batches.
        let producer = try KafkaProducer(config: KafkaProducerConfig(brokers: brokers, lingerMs: 0), onDelivery: { _ in })
        for index in 0..<6 {
            try producer.produce(topic: topic, key: Array("key-\(index)".utf8), value: Array("old \(index)".utf8), token: 0)
            try producer.flush(timeoutMs: 10_000)
        }

        let consumer = try KafkaConsumer(brokers: brokers, groupId: nil)
        defer { consumer.close() }
        try consumer.assignAllPartitions(of: topic, from: .end)
        // The consumer looks up the end asynchronously: keep producing until
        // new messages arrive, then check that no old one came along.
        var received: [String] = []
        var produced = 0
        try pollUntil(seconds: 30, "new messages at the tail") {
            try producer.produce(topic: topic, key: Array("key-\(produced)".utf8), value: Array("new \(produced)".utf8), token: 0)
            produced += 1
            producer.poll(timeoutMs: 0)
            while let message = try consumer.poll(timeoutMs: 50) {
                received.append(String(decoding: message.value, as: UTF8.self))
            }
            return received.filter { $0.hasPrefix("new ") }.count >= 3
        }
        #expect(received.allSatisfy { $0.hasPrefix("new ") }, "\(received)")
    }

    @Test("a group resumes after the offset its previous member committed")
    func groupCommit() throws {
        let brokers = try TestEnvironment.kafkaBrokers()
        let topic = uniqueName("commit")
        let group = uniqueName("group")
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(name: topic, partitions: 1)], timeoutMs: 10_000)
        defer { try? KafkaAdmin.deleteTopics(brokers: brokers, topics: [topic], timeoutMs: 10_000) }

        let deliveries = DeliveryLog()
        let producer = try KafkaProducer(config: KafkaProducerConfig(brokers: brokers), onDelivery: { deliveries.add($0) })
        for index in 0..<10 {
            try producer.produce(topic: topic, key: nil, value: Array("message \(index)".utf8), token: UInt64(index))
        }
        try producer.flush(timeoutMs: 10_000)
        #expect(deliveries.all.allSatisfy { $0.error == nil })

        var committed: KafkaMessage?
        do {
            let first = try KafkaConsumer(brokers: brokers, groupId: group, extra: Self.fastGroup)
            try first.subscribe([topic])
            var seen: [KafkaMessage] = []
            try pollUntil(seconds: 30, "the first member reads four messages") {
                if let message = try first.poll(timeoutMs: 100) { seen.append(message) }
                return seen.count >= 4
            }
            #expect(seen.map { String(decoding: $0.value, as: UTF8.self) } == (0..<4).map { "message \($0)" })
            committed = seen[3]
            try first.commit(seen[3])
            #expect(try first.committedOffset(topic: topic, partition: 0) == seen[3].offset + 1)
            first.close()
            #expect(throws: KafkaError.self) { _ = try first.poll(timeoutMs: 0) }
        }

        let second = try KafkaConsumer(brokers: brokers, groupId: group, extra: Self.fastGroup)
        defer { second.close() }
        try second.subscribe([topic])
        var next: KafkaMessage?
        try pollUntil(seconds: 30, "the second member reads") {
            next = try second.poll(timeoutMs: 100)
            return next != nil
        }
        let resumed = try #require(next)
        #expect(resumed.offset == committed!.offset + 1)
        #expect(String(decoding: resumed.value, as: UTF8.self) == "message 4")
    }

    @Test("storeOffset commits through close")
    func storedOffsetIsCommittedOnClose() throws {
        let brokers = try TestEnvironment.kafkaBrokers()
        let topic = uniqueName("store")
        let group = uniqueName("group")
        try KafkaAdmin.createTopics(brokers: brokers, topics: [(name: topic, partitions: 1)], timeoutMs: 10_000)
        defer { try? KafkaAdmin.deleteTopics(brokers: brokers, topics: [topic], timeoutMs: 10_000) }

        let producer = try KafkaProducer(config: KafkaProducerConfig(brokers: brokers), onDelivery: { _ in })
        for index in 0..<3 {
            try producer.produce(topic: topic, key: nil, value: Array("message \(index)".utf8), token: UInt64(index))
        }
        try producer.flush(timeoutMs: 10_000)

        let consumer = try KafkaConsumer(brokers: brokers, groupId: group, extra: Self.fastGroup)
        try consumer.subscribe([topic])
        var first: KafkaMessage?
        try pollUntil(seconds: 30, "a message") {
            first = try consumer.poll(timeoutMs: 100)
            return first != nil
        }
        try consumer.storeOffset(try #require(first))
        consumer.close()

        let checker = try KafkaConsumer(brokers: brokers, groupId: group, extra: Self.fastGroup)
        defer { checker.close() }
        #expect(try checker.committedOffset(topic: topic, partition: 0) == first!.offset + 1)
    }
}

// MARK: - Helpers

private func uniqueName(_ label: String) -> String {
    "beacon.test.\(label).\(UUID().uuidString.prefix(8).lowercased())"
}

/// Collects delivery reports from the producer's callback.
private final class DeliveryLog: Sendable {
    private let reports = Mutex<[DeliveryReport]>([])
    func add(_ report: DeliveryReport) { reports.withLock { $0.append(report) } }
    var count: Int { reports.withLock { $0.count } }
    var all: [DeliveryReport] { reports.withLock { $0 } }
}

private struct Timeout: Error, CustomStringConvertible {
    let what: String
    let seconds: Int
    var description: String { "gave up waiting \(seconds) s for \(what)" }
}

/// Runs `step` (which itself waits, e.g. a poll with a timeout) until it
/// returns true; throws after `seconds`.
private func pollUntil(seconds: Int, _ what: String, _ step: () throws -> Bool) throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try step() { return }
    }
    throw Timeout(what: what, seconds: seconds)
}

/// A private broker on `port`, ready once it answers a metadata request.
private func privateTansu(port: UInt16) throws -> TestTansu {
    let broker = try TestTansu(port: Int(port))
    do {
        try pollUntil(seconds: 15, "the private broker on port \(port)") {
            (try? KafkaAdmin.metadata(brokers: "127.0.0.1:\(port)", timeoutMs: 500, logHandler: KafkaLog.silent)) != nil
        }
    } catch {
        broker.stop()
        throw error
    }
    return broker
}

