import BeaconCore
import Logging
import Synchronization

/// Loads the registrations of newly assigned partitions from MongoDB and
/// starts their sessions, on a loop thread of its own so that a slow or
/// absent MongoDB never holds up the consumer's poll (and its group
/// membership). Also forgets expired registrations now and then.
final class PartitionLoader: BlockingLoop {
    let name = "partition-loader"
    private let pending = Mutex<Set<Int32>>([])
    private let store: RegistrationStore
    private let supervisor: SessionSupervisor
    private let mongoReady: ReadinessCondition
    private let logger: Logger

    init(store: RegistrationStore, supervisor: SessionSupervisor, mongoReady: ReadinessCondition, logger: Logger) {
        self.store = store
        self.supervisor = supervisor
        self.mongoReady = mongoReady
        self.logger = logger
    }

    func load(_ partitions: [Int32]) { pending.withLock { $0.formUnion(partitions) } }
    func cancel(_ partitions: [Int32]) { pending.withLock { $0.subtract(partitions) } }

    func run(_ control: LoopControl) -> LoopOutcome {
        var prepared = false
        var lastSweep = ContinuousClock.now
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        while !control.isStopping {
            do {
                if !prepared {
                    try store.prepare()
                    prepared = true
                    mongoReady.ready()
                }
                let partitions = pending.withLock { $0 }
                if !partitions.isEmpty {
                    let registrations = try store.load(partitions: Array(partitions))
                    // Only what is still owned and still asked for; a revoke meanwhile wins.
                    let still = pending.withLock { pending in
                        defer { pending.subtract(partitions) }
                        return pending.intersection(partitions)
                    }
                    var started = 0
                    for stored in registrations where still.contains(stored.partition) && supervisor.owns(stored.partition) {
                        supervisor.start(stored, loaded: true)
                        started += 1
                    }
                    logger.info("loaded mail registrations", metadata: ["partitions": "\(still.sorted())", "registrations": "\(started)"])
                }
                if ContinuousClock.now - lastSweep >= .seconds(60) {
                    lastSweep = .now
                    let removed = try store.removeExpired()
                    if removed > 0 { logger.info("removed expired mail registrations", metadata: ["count": "\(removed)"]) }
                }
                mongoReady.ready()
                backoff.reset()
                _ = control.pause(.milliseconds(100))
            } catch {
                mongoReady.notReady("mongodb: \(error)")
                logger.warning("could not load mail registrations; retrying", metadata: ["error": "\(error)"])
                backoff.wait(control)
            }
        }
        return .finished
    }
}
