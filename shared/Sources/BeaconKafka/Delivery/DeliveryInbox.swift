import BeaconCore
import Foundation

/// Delivery reports for a caller that does not wait per message (the
/// enricher's hot path): the sender's poll thread adds them, the caller takes
/// them in batches, sleeping in `wait` while none have come.
///
/// A condition variable, not a semaphore: a semaphore signalled for a waiter
/// that had just timed out keeps the signal, and enough of them turn every
/// later wait into a busy loop.
public final class DeliveryInbox: @unchecked Sendable {
    // Guarded by `condition`.
    private var reports: [DeliveryReport] = []
    private let condition = NSCondition()

    public init() {}

    public func add(_ report: DeliveryReport) {
        condition.lock()
        reports.append(report)
        condition.signal()
        condition.unlock()
    }

    /// Everything received since the last call.
    public func takeAll() -> [DeliveryReport] {
        condition.lock()
        defer { condition.unlock() }
        let taken = reports
        reports.removeAll(keepingCapacity: true)
        return taken
    }

    /// Waits up to `timeout` for a report to arrive; returns at once when
    /// some are there.
    public func wait(timeout: Duration) {
        let deadline = Date(timeIntervalSinceNow: max(.zero, timeout).inSeconds)
        condition.lock()
        while reports.isEmpty, condition.wait(until: deadline) {}
        condition.unlock()
    }
}
