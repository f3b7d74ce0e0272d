import Synchronization

/// Named readiness conditions of a service. `/readyz` answers 200 only while
/// every condition holds, and lists the ones that do not.
public final class Readiness: Sendable {
    private let conditions = Mutex<[String: String?]>([:])
    private let detailValues = Mutex<[String: Int]>([:])

    public init() {}

    /// Registers a condition that starts as not ready.
    public func register(_ name: String, reason: String = "starting") {
        conditions.withLock { $0[name] = .some(reason) }
    }

    public func markReady(_ name: String) {
        conditions.withLock { $0[name] = .some(nil) }
    }

    public func markNotReady(_ name: String, reason: String) {
        conditions.withLock { $0[name] = .some(reason) }
    }

    /// Names of failing conditions with their reasons; empty when ready.
    public var failing: [String: String] {
        conditions.withLock { state in
            var result: [String: String] = [:]
            for (name, reason) in state { if let reason { result[name] = reason } }
            return result
        }
    }

    public var isReady: Bool { failing.isEmpty }

    /// A figure `/readyz` shows beside the conditions (a backlog, say),
    /// which does not decide readiness.
    public func setDetail(_ name: String, _ value: Int) {
        detailValues.withLock { $0[name] = value }
    }

    public var details: [String: Int] { detailValues.withLock { $0 } }
}
