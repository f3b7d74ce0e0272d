import Testing
@testable import PusherService

/// Offsets may be committed only below the oldest message still in flight
/// of its partition, whatever order the messages finish in.
@Suite struct OffsetTrackerTests {
    /// What may be committed after `done` of a partition's offsets (which
    /// started at `first`) finished: the last of the unbroken run from `first`.
    static func committable(first: Int64, done: Set<Int64>) -> Int64? {
        var offset = first
        while done.contains(offset) { offset += 1 }
        return offset == first ? nil : offset - 1
    }

    @Test func inOrderCompletionCommitsEachOffset() {
        var tracker = OffsetTracker()
        for offset in Int64(0)..<5 { tracker.started(topic: "t", partition: 0, offset: offset) }
        for offset in Int64(0)..<5 {
            #expect(tracker.finished(topic: "t", partition: 0, offset: offset) == offset)
        }
        #expect(tracker.count == 0)
    }

    @Test func aGapHoldsTheCommitUntilItIsFilled() {
        var tracker = OffsetTracker()
        for offset in Int64(10)..<14 { tracker.started(topic: "t", partition: 0, offset: offset) }
        // Offset 10 is unfinished: only "resume from 10" may be committed.
        #expect(tracker.finished(topic: "t", partition: 0, offset: 12) == 9)
        #expect(tracker.finished(topic: "t", partition: 0, offset: 11) == 9)
        #expect(tracker.count == 2)
        #expect(tracker.finished(topic: "t", partition: 0, offset: 10) == 12)
        #expect(tracker.finished(topic: "t", partition: 0, offset: 13) == 13)
    }

    @Test func partitionsAndTopicsAreTrackedApart() {
        var tracker = OffsetTracker()
        tracker.started(topic: "a", partition: 0, offset: 0)
        tracker.started(topic: "a", partition: 1, offset: 0)
        tracker.started(topic: "b", partition: 0, offset: 0)
        tracker.started(topic: "a", partition: 0, offset: 1)
        #expect(tracker.finished(topic: "a", partition: 0, offset: 1) == nil)  // 0 of a/0 still in flight
        #expect(tracker.finished(topic: "a", partition: 1, offset: 0) == 0)
        #expect(tracker.finished(topic: "b", partition: 0, offset: 0) == 0)
        #expect(tracker.finished(topic: "a", partition: 0, offset: 0) == 1)
        #expect(tracker.count == 0)
    }

    /// Random completion orders over interleaved partitions: after every
    /// finish, the committable offset is exactly the end of the finished
    /// prefix (or the one before the partition's first, "resume from the
    /// first", while that is unfinished), it never moves back, and at the end
    /// everything is committed.
    @Test(arguments: 0..<40) func randomCompletionOrders(seed: Int) {
        var generator = SeededGenerator(seed: UInt64(seed) &+ 0x9E37_79B9_7F4A_7C15)
        let partitions: [Int32] = [0, 1, 2]
        var starts: [Int32: Int64] = [:]
        var messages: [(partition: Int32, offset: Int64)] = []
        for partition in partitions {
            let first = seed % 4 == 0 ? 0 : Int64.random(in: 0..<1_000, using: &generator)
            let count = Int.random(in: 1...60, using: &generator)
            starts[partition] = first
            messages += (0..<count).map { (partition, first + Int64($0)) }
        }
        var tracker = OffsetTracker()
        for message in messages { tracker.started(topic: "t", partition: message.partition, offset: message.offset) }
        var done: [Int32: Set<Int64>] = [:]
        var committed: [Int32: Int64] = [:]
        for message in messages.shuffled(using: &generator) {
            let result = tracker.finished(topic: "t", partition: message.partition, offset: message.offset)
            done[message.partition, default: []].insert(message.offset)
            let expected = Self.committable(first: starts[message.partition]!, done: done[message.partition]!)
            let resumeAt = expected ?? starts[message.partition]! - 1
            if let result {
                #expect(result == resumeAt, "seed \(seed): partition \(message.partition) offered \(result), expected \(resumeAt)")
                #expect(result >= committed[message.partition] ?? Int64.min, "the committed offset moved back")
                committed[message.partition] = result
            } else {
                // Only at offset 0 is there nothing before the first to resume from.
                #expect(expected == nil && starts[message.partition] == 0, "seed \(seed): a commit of \(resumeAt) was withheld")
            }
        }
        for partition in partitions {
            let last = messages.filter { $0.partition == partition }.map(\.offset).max()!
            #expect(committed[partition] == last)
        }
        #expect(tracker.count == 0)
    }
}

/// SplitMix64: a reproducible random order per seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
