/// One moment per event of a run (0: not yet), indexed by the event's
/// sequence number. Each table has one kind of writer (the sender's answers,
/// or one watcher's arrivals) and is read after the writers are done, so the
/// slots need no lock: distinct events are distinct words.
final class ArrivalTable: @unchecked Sendable {
    let count: Int
    private let slots: UnsafeMutableBufferPointer<UInt64>

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: 0)
    }

    deinit { slots.deallocate() }

    /// Records the first arrival only (a duplicate keeps the first moment).
    @inline(__always)
    func markFirst(_ index: Int, at nanos: UInt64) -> Bool {
        guard index >= 0, index < count, slots[index] == 0 else { return false }
        slots[index] = nanos
        return true
    }

    @inline(__always)
    subscript(index: Int) -> UInt64 { slots[index] }
}
