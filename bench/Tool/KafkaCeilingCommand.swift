import ArgumentParser
import BeaconKafka
import Foundation
import Synchronization

/// `beacon-bench kafka-ceiling`: librdkafka's own producer throughput to a
/// broker, with the enricher's producer settings (idempotent, acks=all, lz4,
/// linger 5 ms) and the enricher's messages (one JSON object a line of the
/// sample file, keyed like the enricher keys them), with no enrichment.
struct KafkaCeilingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-ceiling",
        abstract: "Produce N sample messages as fast as librdkafka can and report messages/s."
    )

    @Option(help: "Kafka bootstrap servers.") var brokers = "127.0.0.1:9092"
    @Option(help: "Topic to produce to.") var topic = "beacon.bench"
    @Option(help: "Messages to produce.") var count = 200_000
    @Option(help: "File of sample messages, one JSON object a line (e.g. enriched events).") var samples: String
    @Option(help: "linger.ms, as the enricher's kafka.lingerMs.") var lingerMs = 5

    func run() throws {
        let values = try String(contentsOfFile: samples, encoding: .utf8).split(separator: "\n").map { Array($0.utf8) }
        guard !values.isEmpty else { throw ValidationError("\(samples) has no messages") }
        let keys = (0..<5_000).map { Array("demo-write-key:user-\($0)".utf8) }
        let delivered = Atomic<Int>(0)
        let failed = Atomic<Int>(0)
        let producer = try KafkaProducer(
            config: KafkaProducerConfig(brokers: brokers, clientId: "beacon-bench", lingerMs: lingerMs),
            onDelivery: { report in
                if report.error == nil { delivered.add(1, ordering: .relaxed) } else { failed.add(1, ordering: .relaxed) }
            }
        )
        // Connect and learn the partitions before the clock starts.
        _ = try producer.metadata(topic: topic, timeoutMs: 10_000)
        var bytes = 0
        let started = ContinuousClock.now
        for index in 0..<count {
            let value = values[index % values.count]
            bytes += value.count
            try Self.produce(producer, topic: topic, key: keys[index % keys.count], value: value, token: UInt64(index))
            if index % 1_000 == 0 { _ = producer.poll(timeoutMs: 0) }
        }
        while delivered.load(ordering: .relaxed) + failed.load(ordering: .relaxed) < count {
            _ = producer.poll(timeoutMs: 10)
            if ContinuousClock.now - started > .seconds(300) { break }
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let result: [String: Any] = [
            "messages": count, "delivered": delivered.load(ordering: .relaxed), "failed": failed.load(ordering: .relaxed),
            "seconds": seconds, "messages_per_second": Double(delivered.load(ordering: .relaxed)) / seconds,
            "mean_message_bytes": bytes / count,
        ]
        FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// Produces, serving deliveries while librdkafka's queue is full.
    private static func produce(_ producer: KafkaProducer, topic: String, key: [UInt8], value: [UInt8], token: UInt64) throws(KafkaError) {
        while true {
            do {
                try producer.produce(topic: topic, key: key, value: value, token: token)
                return
            } catch where error.isQueueFull {
                _ = producer.poll(timeoutMs: 5)
            }
        }
    }
}
