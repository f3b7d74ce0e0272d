import Foundation

/// What `latency` prints: the sender's figures, latency percentiles to
/// Kafka and to the live view, and a per-second series for the plot.
struct LatencyResult {
    let json: [String: Any]

    init(accepted: [Int], acks: ArrivalTable, kafka: ArrivalTable, live: ArrivalTable?,
         sender: LoadSender.Report, settings: [String: Any], liveDropped: Int, liveError: String?) {
        // An event can reach Kafka a hair before its 2xx reaches the client;
        // that counts as no latency rather than a negative one.
        func latency(_ table: ArrivalTable, _ index: Int) -> UInt64? {
            let arrived = table[index]
            guard arrived != 0 else { return nil }
            return arrived > acks[index] ? arrived - acks[index] : 0
        }
        let toKafka = accepted.compactMap { latency(kafka, $0) }
        let toLive = live.map { table in accepted.compactMap { latency(table, $0) } }

        var object: [String: Any] = settings
        object["requests"] = sender.requests
        object["failed_requests"] = sender.failedRequests
        object["late_requests"] = sender.lateRequests
        object["statuses"] = Dictionary(uniqueKeysWithValues: sender.statuses.map { ("\($0.key)", $0.value) })
        object["first_error"] = sender.firstError
        object["send_seconds"] = sender.seconds
        object["accepted_events"] = accepted.count
        object["accepted_per_second"] = sender.seconds > 0 ? Double(accepted.count) / sender.seconds : 0
        object["kafka"] = Self.summary(toKafka, accepted: accepted.count)
        if let toLive {
            var summary = Self.summary(toLive, accepted: accepted.count)
            summary["dropped_reported"] = liveDropped
            summary["error"] = liveError
            object["liveview"] = summary
        }
        object["series"] = Self.series(accepted: accepted, acks: acks, kafka: kafka, live: live, latency: latency)
        json = object
    }

    private static func summary(_ values: [UInt64], accepted: Int) -> [String: Any] {
        var summary: [String: Any] = ["arrived": values.count, "missing": accepted - values.count]
        for (key, value) in Percentiles(values).summary { summary[key] = value ?? NSNull() }
        return summary
    }

    /// One point a second of the run (by the moment of the 2xx): events
    /// accepted, and p50/p99 to Kafka and to the live view.
    private static func series(accepted: [Int], acks: ArrivalTable, kafka: ArrivalTable, live: ArrivalTable?,
                               latency: (ArrivalTable, Int) -> UInt64?) -> [[String: Any]] {
        guard let first = accepted.map({ acks[$0] }).min() else { return [] }
        var buckets: [Int: [Int]] = [:]
        for index in accepted { buckets[Int((acks[index] - first) / 1_000_000_000), default: []].append(index) }
        return buckets.keys.sorted().map { second in
            let members = buckets[second]!
            let k = Percentiles(members.compactMap { latency(kafka, $0) })
            var point: [String: Any] = ["t": second, "accepted": members.count,
                                        "kafka_p50_ms": k.milliseconds(0.5) ?? -1, "kafka_p99_ms": k.milliseconds(0.99) ?? -1]
            if let live {
                let l = Percentiles(members.compactMap { latency(live, $0) })
                point["live_p50_ms"] = l.milliseconds(0.5) ?? -1
                point["live_p99_ms"] = l.milliseconds(0.99) ?? -1
            }
            return point
        }
    }
}
