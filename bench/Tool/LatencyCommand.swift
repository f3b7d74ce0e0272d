import ArgumentParser
import Foundation

/// `beacon-bench latency`: events at a fixed rate into the tracker; for each
/// one, the time from the tracker's 2xx to its arrival in Kafka and in a
/// live-view WebSocket. Prints one JSON object (see `LatencyResult`).
struct LatencyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency",
        abstract: "End-to-end latency at a fixed rate: tracker 2xx -> Kafka, and -> live view."
    )

    @Option(help: "Tracker base URL.") var tracker = "http://127.0.0.1:8080"
    @Option(help: "Write key (HTTP Basic user).") var writeKey = "demo-write-key"
    @Option(help: "Kafka bootstrap servers.") var brokers = "127.0.0.1:9092"
    @Option(help: "Topic the enricher writes.") var topic = "beacon.events"
    @Option(help: "Live-view WebSocket URL with its token, e.g. ws://127.0.0.1:8090/ws?token=dev-token (none: Kafka only).")
    var liveview: String?
    @Option(help: "Events per second.") var rate = 1_000
    @Option(help: "Seconds of load.") var duration = 10.0
    @Option(help: "Events per request (1: /v1/track, more: /v1/batch).") var batch = 1
    @Option(help: "Keep-alive connections to the tracker.") var connections = 16
    @Option(help: "Requests in flight at most.") var maxInFlight = 256
    @Option(help: "Seconds to wait, after the load, for events still on their way.") var drainTimeout = 15.0
    @Option(help: "File of user agents, one a line.") var userAgents: String?
    @Option(help: "File of client IP addresses, one a line.") var ips: String?

    func run() async throws {
        let run = String(UInt32.random(in: .min ... .max), radix: 16)
        let ids = BenchMessageId(run: run)
        let event = "Bench \(run)"
        let warmup = 0..<1_000
        let total = Int(Double(rate) * duration)
        let measured = warmup.upperBound..<(warmup.upperBound + total)
        let factory = try TrackEventFactory(ids: ids, eventName: event, userAgentsFile: userAgents, ipsFile: ips)

        let kafka = try KafkaWatcher(brokers: brokers, topic: topic, ids: ids, capacity: measured.upperBound)
        kafka.start()
        let live = LiveViewWatcher(ids: ids, capacity: measured.upperBound)
        if let liveview { live.start(url: liveview, topic: topic, event: event) }
        let sender = LoadSender(tracker: tracker, writeKey: writeKey, factory: factory, capacity: measured.upperBound, connections: connections)

        // Warm up until both watchers see events: a tail "from the end" only
        // starts once librdkafka resolved the offsets and the WebSocket subscribed.
        var next = warmup.lowerBound
        let warmDeadline = ContinuousClock.now + .seconds(60)
        while kafka.seen == 0 || (liveview != nil && live.seen == 0) {
            guard ContinuousClock.now < warmDeadline, next < warmup.upperBound else {
                throw ValidationError("warm-up: no event reached Kafka\(liveview == nil ? "" : " and the live view") within 60 s (kafka \(kafka.seen), live view \(live.seen), \(live.error ?? ""))")
            }
            await sender.send(next..<(next + 1))
            next += 1
            try await Task.sleep(for: .milliseconds(50))
        }

        let report = await sender.run(sequences: measured, rate: rate, batch: batch, maxInFlight: maxInFlight)
        // Wait for the accepted events to arrive (or stop arriving).
        let accepted = measured.filter { sender.acks[$0] != 0 }
        func arrived(_ table: ArrivalTable) -> Int { accepted.reduce(0) { $0 + (table[$1] != 0 ? 1 : 0) } }
        var lastProgress = ContinuousClock.now
        var lastCounts = (-1, -1)
        let drainDeadline = ContinuousClock.now + .seconds(drainTimeout)
        while ContinuousClock.now < drainDeadline {
            let counts = (arrived(kafka.arrivals), liveview == nil ? accepted.count : arrived(live.arrivals))
            if counts.0 == accepted.count && counts.1 == accepted.count { break }
            if counts != lastCounts { lastCounts = counts; lastProgress = .now }
            if ContinuousClock.now - lastProgress > .seconds(3) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        kafka.stop()
        await live.stop()
        try await sender.shutdown()

        let result = LatencyResult(
            accepted: accepted, acks: sender.acks, kafka: kafka.arrivals,
            live: liveview == nil ? nil : live.arrivals, sender: report,
            settings: ["rate": rate, "duration_s": duration, "batch": batch, "connections": connections],
            liveDropped: live.dropped, liveError: live.error
        )
        let data = try JSONSerialization.data(withJSONObject: result.json, options: [.sortedKeys])
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
