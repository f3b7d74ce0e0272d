/// Work that blocks in a C library (hiredis, librdkafka, libmongoc) and so
/// runs on a thread of its own instead of Swift's cooperative pool. A
/// `LoopThread` hosts it; `BlockingLoopService` hosts loops as a service.
///
/// A loop runs until `control.isStopping`, waits only through `control`
/// (`pause`, `wait(for:)`, a `Backoff`) so that shutdown ends every wait, and
/// then finishes what it holds by `control.drainDeadline`.
public protocol BlockingLoop: Sendable {
    /// Names the thread (`beacon-<name>`) and the loop's log lines.
    var name: String { get }
    /// Runs until told to stop, then drains; says what it left undone.
    func run(_ control: LoopControl) -> LoopOutcome
    /// Called by the host right after telling the loop to stop, to end a
    /// wait that is not through `control` (e.g. on a queue). Default: nothing.
    func wake()
}

extension BlockingLoop {
    public func wake() {}
}

/// How a loop ended: everything finished, or what it had to leave undone
/// when its drain time ran out (said in the shutdown log).
public struct LoopOutcome: Sendable, Equatable, CustomStringConvertible {
    /// nil: nothing was left undone.
    public let undone: String?

    public static let finished = LoopOutcome(undone: nil)

    /// `what` was not finished, e.g. "12 entries unconfirmed by Kafka (they stay pending in Redis)".
    public static func leftUndone(_ what: String) -> LoopOutcome { LoopOutcome(undone: what) }

    public var description: String { undone ?? "nothing left undone" }
}
