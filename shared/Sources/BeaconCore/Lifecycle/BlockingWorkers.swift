import Atomics
import Foundation
import ServiceLifecycle

/// Runs loops that block in C libraries (hiredis, librdkafka, libmongoc) on
/// threads of their own, off Swift's cooperative pool. On graceful shutdown
/// each loop is told to stop and given the time to finish what it holds.
public final class BlockingWorkers: Service, @unchecked Sendable {
    public struct Worker: Sendable {
        public let name: String
        public let run: @Sendable (_ shouldStop: @escaping @Sendable () -> Bool) -> Void

        public init(name: String, run: @escaping @Sendable (_ shouldStop: @escaping @Sendable () -> Bool) -> Void) {
            self.name = name
            self.run = run
        }
    }

    private let workers: [Worker]
    private let stopping = ManagedAtomic(false)

    public init(_ workers: [Worker]) {
        self.workers = workers
    }

    public func run() async throws {
        let (finished, continuation) = AsyncStream<Void>.makeStream()
        let remaining = ManagedAtomic(workers.count)
        for worker in workers {
            let thread = Thread { [stopping] in
                worker.run { stopping.load(ordering: .relaxed) }
                if remaining.wrappingDecrementThenLoad(ordering: .acquiringAndReleasing) == 0 { continuation.finish() }
            }
            thread.name = "beacon-\(worker.name)"
            thread.start()
        }
        if workers.isEmpty { continuation.finish() }
        try? await gracefulShutdown()
        stopping.store(true, ordering: .relaxed)
        for await _ in finished {}
    }
}
