import BeaconCore
import Dispatch
import Synchronization

/// The reports of one awaited send (one message or a batch), filled in by
/// the sender's poll thread as they come; the sender resumes the waiter,
/// async or blocked, once all are in.
final class DeliveryWait: Sendable {
    private struct State {
        var reports: [DeliveryReport?]
        var remaining: Int
        var continuation: CheckedContinuation<[DeliveryReport], Never>?
    }

    private let state: Mutex<State>
    /// Only for a blocked thread: an async waiter needs no semaphore (one per
    /// message was a tenth of the pusher's time in allocations and wake-ups).
    private let done: DispatchSemaphore?

    init(count: Int, blocking: Bool) {
        state = Mutex(State(reports: Array(repeating: nil, count: count), remaining: count))
        done = blocking ? DispatchSemaphore(value: 0) : nil
    }

    func record(_ report: DeliveryReport, at index: Int) {
        let finished = state.withLock { state -> (CheckedContinuation<[DeliveryReport], Never>?, [DeliveryReport])? in
            guard state.reports[index] == nil else { return nil }
            state.reports[index] = report
            state.remaining -= 1
            guard state.remaining == 0 else { return nil }
            defer { state.continuation = nil }
            return (state.continuation, state.reports.map { $0! })
        }
        guard let (continuation, reports) = finished else { return }
        done?.signal()
        continuation?.resume(returning: reports)
    }

    /// All reports, in the order the messages were given.
    func reports() async -> [DeliveryReport] {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [DeliveryReport]? in
                if state.remaining == 0 { return state.reports.map { $0! } }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// All reports, blocking this thread up to `timeout`; nil when it passed.
    func reports(timeout: Duration) -> [DeliveryReport]? {
        guard let done else { preconditionFailure("a DeliveryWait made for async waiting was waited for blocking") }
        guard done.wait(timeout: .now() + timeout.dispatchInterval) == .success else { return nil }
        done.signal()
        return state.withLock { state in state.remaining == 0 ? state.reports.map { $0! } : nil }
    }
}
