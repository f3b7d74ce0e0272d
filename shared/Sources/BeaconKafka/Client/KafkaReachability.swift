import BeaconCore

/// Keeps a readiness condition true to whether the brokers answer: a
/// metadata request every `interval`, every second while they do not. For
/// a service whose Kafka use comes and goes (the live view's taps).
public struct KafkaReachability: BlockingLoop {
    public let name = "kafka-reachability"
    private let brokers: String
    private let interval: Duration
    private let readiness: ReadinessCondition

    public init(brokers: String, interval: Duration = .seconds(5), readiness: ReadinessCondition) {
        self.brokers = brokers
        self.interval = interval
        self.readiness = readiness
    }

    public func run(_ control: LoopControl) -> LoopOutcome {
        var client: KafkaConsumer?
        while !control.isStopping {
            do {
                let current = try client ?? KafkaConsumer(brokers: brokers, groupId: nil, logHandler: KafkaLog.silent)
                client = current
                _ = try current.metadata(timeoutMs: 2_000)
                readiness.ready()
                control.pause(interval)
            } catch {
                readiness.notReady("kafka unavailable: \(error)")
                control.pause(.seconds(1))
            }
        }
        client?.close()
        return .finished
    }
}
