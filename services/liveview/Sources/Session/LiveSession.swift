import Atomics
import Synchronization

/// One browser: its topic, filter and pause state, and a bounded queue of
/// frames. When the browser reads too slowly the oldest frames are dropped
/// and counted; the tap never waits.
final class LiveSession: Sendable {
    let frames: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let state = Mutex<(filter: EventFilter, paused: Bool)>((EventFilter(), false))
    private let dropped = ManagedAtomic<Int>(0)
    private let matched = ManagedAtomic<Int>(0)

    init(queueSize: Int) {
        (frames, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(queueSize))
    }

    func configure(filter: EventFilter) { state.withLock { $0.filter = filter } }
    func setPaused(_ paused: Bool) { state.withLock { $0.paused = paused } }
    var isPaused: Bool { state.withLock { $0.paused } }

    /// Called on the tap's thread for every message.
    func offer(_ message: TailedMessage) {
        let (filter, paused) = state.withLock { ($0.filter, $0.paused) }
        guard !paused, filter.matches(message) else { return }
        matched.wrappingIncrement(ordering: .relaxed)
        send(message.frame())
    }

    /// Queues a frame; counts the one that had to make room.
    func send(_ frame: String) {
        if case .dropped = continuation.yield(frame) {
            dropped.wrappingIncrement(ordering: .relaxed)
        }
    }

    /// Total dropped so far, and matched so far.
    var counters: (dropped: Int, matched: Int) {
        (dropped.load(ordering: .relaxed), matched.load(ordering: .relaxed))
    }

    func finish() { continuation.finish() }
}
