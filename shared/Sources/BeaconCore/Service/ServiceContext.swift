import Logging
import Synchronization

/// What every part of a service shares: its logger, its readiness, and what
/// must be cleaned up however the service ends (HTTP clients, producers).
public final class ServiceContext: Sendable {
    public let name: String
    public let logger: Logger
    public let readiness: Readiness
    private let cleanups = Mutex<[@Sendable () async -> Void]>([])

    public init(name: String, logger: Logger, readiness: Readiness = Readiness()) {
        self.name = name
        self.logger = logger
        self.readiness = readiness
    }

    /// A readiness condition of this service, not ready until it says so.
    public func condition(_ name: String, reason: String = "starting") -> ReadinessCondition {
        ReadinessCondition(name, in: readiness, logger: logger, reason: reason)
    }

    /// Runs `cleanup` after the parts stopped, whether they ended cleanly or
    /// threw; the latest registered runs first.
    public func onShutdown(_ cleanup: @escaping @Sendable () async -> Void) {
        cleanups.withLock { $0.append(cleanup) }
    }

    func runCleanups() async {
        let all = cleanups.withLock { cleanups in
            defer { cleanups.removeAll() }
            return cleanups
        }
        for cleanup in all.reversed() { await cleanup() }
    }
}
