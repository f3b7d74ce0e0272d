import Foundation
import Logging
import Synchronization

/// Runs one `BlockingLoop` on a thread of its own, from `init` until the
/// loop returns. This is the one place in Beacon that starts a thread.
/// `stop` tells the loop to stop and waits, bounded by its drain time plus a
/// little grace, logging what it left undone or that it did not stop in time.
public final class LoopThread: Sendable {
    /// Time after the drain deadline given to a loop to return before the
    /// host stops waiting for it (its thread ends with the process).
    public static let grace = Duration.seconds(2)

    public let control: LoopControl
    private let logger: Logger
    private let outcome = Mutex<LoopOutcome?>(nil)
    private let finishedStream: AsyncStream<Void>
    private let wakeLoop: @Sendable () -> Void

    public init(_ loop: some BlockingLoop, drainTimeout: Duration, logger: Logger) {
        let control = LoopControl(name: loop.name, drainTimeout: drainTimeout)
        self.control = control
        self.logger = logger
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        finishedStream = stream
        wakeLoop = { loop.wake() }
        let thread = Thread { [self] in
            let result = loop.run(control)
            outcome.withLock { $0 = result }
            continuation.finish()
        }
        thread.name = "beacon-\(loop.name)"
        thread.start()
    }

    /// The loop's outcome once it returned.
    public var result: LoopOutcome? { outcome.withLock { $0 } }

    /// Tells the loop to stop and waits for it, without blocking a thread of
    /// the cooperative pool. Logs how it ended. Call once.
    @discardableResult
    public func stop() async -> LoopOutcome? {
        if let result { return result }
        requestStop()
        let bound = control.drainTimeLeft + Self.grace
        let stream = finishedStream
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in stream {} }
            group.addTask { try? await Task.sleep(for: bound) }
            await group.next()
            group.cancelAll()
        }
        return report()
    }

    /// Tells the loop to stop without waiting for it.
    public func requestStop() {
        control.requestStop()
        wakeLoop()
    }

    private func report() -> LoopOutcome? {
        guard let result else {
            logger.warning("loop did not stop within its drain time; abandoned", metadata: [
                "loop": "\(control.name)", "drainTimeout": "\(control.drainTimeout)",
            ])
            return nil
        }
        if let undone = result.undone {
            logger.warning("loop stopped with work left undone", metadata: ["loop": "\(control.name)", "undone": "\(undone)"])
        } else {
            logger.debug("loop stopped", metadata: ["loop": "\(control.name)"])
        }
        return result
    }
}
