import Logging
import Synchronization

/// One named condition of a service's readiness, held by the part that knows
/// it (a loop, a client). Every part reports through this one type: it logs a
/// change once (a recovery as well as a failure), never per call, so a loop
/// may report on every iteration.
public final class ReadinessCondition: Sendable {
    public let name: String
    private let readiness: Readiness
    private let logger: Logger
    /// The reason while not ready (nil: ready), and whether it ever was.
    private let state: Mutex<(reason: String?, wasReady: Bool)>

    /// Registers `name` as not ready with `reason` until the first `ready()`.
    public init(_ name: String, in readiness: Readiness, logger: Logger, reason: String = "starting") {
        self.name = name
        self.readiness = readiness
        self.logger = logger
        state = Mutex((reason, false))
        readiness.register(name, reason: reason)
    }

    public var isReady: Bool { state.withLock { $0.reason == nil } }

    public func ready() {
        let recovered = state.withLock { state -> (reason: String, again: Bool)? in
            guard let reason = state.reason else { return nil }
            defer { state = (nil, true) }
            return (reason, state.wasReady)
        }
        guard let recovered else { return }
        readiness.markReady(name)
        if recovered.again { logger.info("ready again", metadata: ["condition": "\(name)", "was": "\(recovered.reason)"]) }
    }

    public func notReady(_ reason: String) {
        let previous = state.withLock { state -> String?? in
            defer { state.reason = reason }
            return state.reason == reason ? .none : .some(state.reason)
        }
        guard case .some(let before) = previous else { return }
        readiness.markNotReady(name, reason: reason)
        // A failure is worth a warning once; a changing reason while still failing is not.
        logger.log(level: before == nil ? .warning : .debug, "not ready", metadata: ["condition": "\(name)", "reason": "\(reason)"])
    }

    /// `ready()` when `reason` is nil, else `notReady(reason)`.
    public func update(failing reason: String?) {
        if let reason { notReady(reason) } else { ready() }
    }
}
