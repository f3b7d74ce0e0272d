import Atomics
import Foundation
import ServiceLifecycle

/// Runs each stream pipeline on its own thread (hiredis and librdkafka
/// calls block) and, on shutdown, lets each drain what it has in flight.
final class PipelineService: Service, @unchecked Sendable {
    private let pipelines: [StreamPipeline]
    private let stopping = ManagedAtomic(false)

    init(pipelines: [StreamPipeline]) {
        self.pipelines = pipelines
    }

    func run() async throws {
        let (finished, continuation) = AsyncStream<Void>.makeStream()
        let remaining = ManagedAtomic(pipelines.count)
        for (index, pipeline) in pipelines.enumerated() {
            let thread = Thread { [stopping] in
                pipeline.run { stopping.load(ordering: .relaxed) }
                if remaining.wrappingDecrementThenLoad(ordering: .acquiringAndReleasing) == 0 { continuation.finish() }
            }
            thread.name = "beacon-pipeline-\(index)"
            thread.start()
        }
        try? await gracefulShutdown()
        stopping.store(true, ordering: .relaxed)
        for await _ in finished {}
    }
}
