import BeaconKafka
import Foundation

/// A Kafka broker of a test's own (Tansu, in memory) behind a `TCPProxy`
/// that it advertises, so the test can take Kafka away from the services
/// (`outage`) and give it back, as a network failure or a broker restart
/// with its data kept would.
public final class ProxiedKafka: Sendable {
    public let proxy: TCPProxy
    private let broker: TestTansu

    /// `host:port` of the proxy: what the services get as their brokers.
    public var brokers: String { "127.0.0.1:\(proxy.port)" }

    public static func start(topics: [(String, Int32)]) async throws -> ProxiedKafka {
        let kafka = try ProxiedKafka()
        try await kafka.proxy.resume()
        try await Await.condition("the test's own Tansu to answer", timeout: .seconds(30)) {
            (try? KafkaAdmin.metadata(brokers: kafka.brokers, timeoutMs: 1_000, logHandler: KafkaLog.silent)) != nil
        }
        try KafkaAdmin.createTopics(brokers: kafka.brokers, topics: topics.map { (name: $0.0, partitions: $0.1) }, timeoutMs: 10_000)
        return kafka
    }

    private init() throws {
        let internalPort = FreePort.next()
        proxy = TCPProxy(target: internalPort)
        broker = try TestTansu(port: internalPort, advertisedPort: proxy.port)
    }

    /// Kafka away: every connection closed, new ones refused.
    public func outage() async { await proxy.pause() }

    /// Kafka back, with everything it had.
    public func recover() async throws { try await proxy.resume() }

    public func stop() async {
        await proxy.shutdown()
        broker.stop()
    }
}
