/// Which offsets may be committed when messages finish out of order: per
/// partition, everything below the oldest message still in flight.
struct OffsetTracker {
    private struct PartitionKey: Hashable {
        let topic: String
        let partition: Int32
    }

    private var inFlight: [PartitionKey: Set<Int64>] = [:]
    private var highestDone: [PartitionKey: Int64] = [:]

    mutating func started(topic: String, partition: Int32, offset: Int64) {
        inFlight[PartitionKey(topic: topic, partition: partition), default: []].insert(offset)
    }

    /// Marks a message finished; returns the offset whose successor may be
    /// committed now for that partition, if it moved.
    mutating func finished(topic: String, partition: Int32, offset: Int64) -> Int64? {
        let key = PartitionKey(topic: topic, partition: partition)
        inFlight[key]?.remove(offset)
        highestDone[key] = max(highestDone[key] ?? offset, offset)
        let pending = inFlight[key] ?? []
        if let oldest = pending.min() {
            // Everything before the oldest unfinished message is done.
            return oldest - 1 >= 0 && oldest - 1 <= (highestDone[key] ?? -1) ? oldest - 1 : nil
        }
        return highestDone[key]
    }

    var count: Int { inFlight.values.reduce(0) { $0 + $1.count } }
}
