import Logging
import ServiceLifecycle

/// Hosts blocking loops as one service: each loop on its own thread from
/// the moment the service runs; on graceful shutdown all are told to stop at
/// once and each gets its drain time to finish.
public struct BlockingLoopService: Service {
    private let loops: [any BlockingLoop]
    private let drainTimeout: Duration
    private let logger: Logger

    public init(_ loops: [any BlockingLoop], drainTimeout: Duration, logger: Logger) {
        self.loops = loops
        self.drainTimeout = drainTimeout
        self.logger = logger
    }

    public func run() async throws {
        let threads = loops.map { LoopThread($0, drainTimeout: drainTimeout, logger: logger) }
        try? await gracefulShutdown()
        for thread in threads { thread.requestStop() }
        for thread in threads { await thread.stop() }
    }
}
