import Dispatch
import Synchronization

/// What a hosted loop gets from its host: whether to stop, waits that end
/// at shutdown, and the time it has left to finish once it is stopping.
public final class LoopControl: Sendable {
    public let name: String
    /// How long the loop may take to finish what it holds once told to stop.
    public let drainTimeout: Duration
    private let stopping = Atomic<Bool>(false)
    private let stopRequestedAt = Mutex<ContinuousClock.Instant?>(nil)
    private let wakeUp = DispatchSemaphore(value: 0)

    public init(name: String, drainTimeout: Duration) {
        self.name = name
        self.drainTimeout = drainTimeout
    }

    public var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Once stopping: the instant by which the loop must have finished.
    /// Before that: as if it were told to stop now.
    public var drainDeadline: ContinuousClock.Instant {
        (stopRequestedAt.withLock { $0 } ?? .now) + drainTimeout
    }

    /// Time left until `drainDeadline`, never negative.
    public var drainTimeLeft: Duration { max(.zero, drainDeadline - .now) }

    /// Sleeps up to `duration`. Returns false at once, or as soon as the
    /// loop is told to stop.
    @discardableResult
    public func pause(_ duration: Duration) -> Bool {
        guard !isStopping else { return false }
        _ = wakeUp.wait(timeout: .now() + duration.dispatchInterval)
        return !isStopping
    }

    /// Waits for one of `semaphore`'s signals; false when the loop is told
    /// to stop first (the signal, if any, is then left for someone else).
    public func wait(for semaphore: DispatchSemaphore) -> Bool {
        while !isStopping {
            if semaphore.wait(timeout: .now() + .milliseconds(50)) == .success { return true }
        }
        return false
    }

    /// Tells the loop to stop and wakes it from `pause`. Idempotent.
    public func requestStop() {
        stopRequestedAt.withLock { if $0 == nil { $0 = .now } }
        if !stopping.exchange(true, ordering: .acquiringAndReleasing) { wakeUp.signal() }
    }

}
