import Dispatch
import Synchronization

/// Delivery reports for a caller that does not wait per message (the
/// enricher's hot path): the sender's poll thread adds them, the caller takes
/// them in batches, sleeping in `wait` while none have come.
public final class DeliveryInbox: Sendable {
    private let state = Mutex<(reports: [DeliveryReport], waiting: Bool)>(([], false))
    private let arrived = DispatchSemaphore(value: 0)

    public init() {}

    public func add(_ report: DeliveryReport) {
        let wake = state.withLock { state -> Bool in
            state.reports.append(report)
            defer { state.waiting = false }
            return state.waiting
        }
        if wake { arrived.signal() }
    }

    /// Everything received since the last call.
    public func takeAll() -> [DeliveryReport] {
        state.withLock { state in
            defer { state.reports.removeAll(keepingCapacity: true) }
            return state.reports
        }
    }

    /// Waits up to `timeout` for a report to arrive (returns at once when
    /// some are there); may return early without one.
    public func wait(timeout: Duration) {
        let mustWait = state.withLock { state -> Bool in
            guard state.reports.isEmpty else { return false }
            state.waiting = true
            return true
        }
        guard mustWait else { return }
        let (seconds, attoseconds) = max(.zero, timeout).components
        _ = arrived.wait(timeout: .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)))
        state.withLock { $0.waiting = false }
    }
}
