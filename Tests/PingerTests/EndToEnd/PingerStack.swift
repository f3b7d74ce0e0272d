import BeaconCore
import BeaconKafka
import BeaconTestSupport
import Crypto
import Foundation

/// The whole mail path for one test, on the shared real servers: tracker
/// (with the public key only), enricher, pinger(s), and the pusher in dry
/// run, on a mail stream, topics, groups and a MongoDB database of the
/// test's own, so that tests in parallel never see each other's mail.
struct PingerStack {
    let base = BeaconStack()
    var runId: String { base.runId }
    var mailStream: String { "test:mail:\(runId)" }
    var mailTopic: String { "test.mail.\(runId)" }
    var apnsTopic: String { "test.push.apns.\(runId)" }
    var feedbackTopic: String { "test.push.feedback.\(runId)" }
    var database: String { "pinger_\(runId.replacingOccurrences(of: "-", with: ""))" }
    let keysDir: String

    /// Topics made, a key pair and a stop-token secret written for this run.
    init(mailPartitions: Int32 = 3) throws {
        keysDir = try TestEnvironment.outputDir() + "/pinger-keys/" + base.runId
        try FileManager.default.createDirectory(atPath: keysDir, withIntermediateDirectories: true)
        let key = P256.KeyAgreement.PrivateKey()
        try key.pemRepresentation.write(toFile: keysDir + "/pinger.key", atomically: true, encoding: .utf8)
        try key.publicKey.pemRepresentation.write(toFile: keysDir + "/pinger.pub", atomically: true, encoding: .utf8)
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: keysDir + "/token.secret"))
        try KafkaAdmin.createTopics(
            brokers: try TestEnvironment.kafkaBrokers(),
            topics: [(mailTopic, mailPartitions), (apnsTopic, 1), (feedbackTopic, 1)], timeoutMs: 10_000)
    }

    func startTracker() async throws -> ServiceProcess {
        try await base.startTracker(extra: [
            "BEACON_MAIL_PUBLIC_KEY_FILE": keysDir + "/pinger.pub", "BEACON_MAIL_TOKEN_SECRET_FILE": keysDir + "/token.secret",
            "BEACON_MAIL_ALLOW_PLAINTEXT": "true", "BEACON_REDIS_MAIL_STREAM": mailStream,
        ])
    }

    func startEnricher() async throws -> ServiceProcess {
        try await base.startEnricher(extra: ["BEACON_REDIS_MAIL_STREAM": mailStream, "BEACON_KAFKA_MAIL_TOPIC": mailTopic])
    }

    func pingerEnvironment(imapPortOverride: [String: String] = [:]) throws -> [String: String] {
        [
            "BEACON_KAFKA_BROKERS": try TestEnvironment.kafkaBrokers(),
            "BEACON_KAFKA_MAIL_TOPIC": mailTopic, "BEACON_KAFKA_GROUP": "pinger-\(runId)",
            "BEACON_KAFKA_FEEDBACK_TOPIC": feedbackTopic, "BEACON_KAFKA_FEEDBACK_GROUP": "pinger-feedback-\(runId)",
            "BEACON_KAFKA_APNS_TOPIC": apnsTopic, "BEACON_KAFKA_SESSION_TIMEOUT_MS": "3000",
            "BEACON_MONGO_URL": try TestEnvironment.mongoURL(), "BEACON_MONGO_DATABASE": database,
            "BEACON_PINGER_PRIVATE_KEY_FILES": keysDir + "/pinger.key",
            "BEACON_PINGER_ALLOW_PRIVATE_HOSTS": "true", "BEACON_PINGER_ALLOW_PLAINTEXT": "true",
            "BEACON_PINGER_CA_FILE": try TestEnvironment.value("BEACON_TEST_IMAP_CA_FILE"),
            "BEACON_PINGER_POLL_INTERVAL_SECONDS": "1",
            "BEACON_PINGER_BACKOFF_INITIAL_MS": "200", "BEACON_PINGER_BACKOFF_MAX_MS": "1000",
        ]
    }

    func startPinger(_ name: String = "pinger") async throws -> ServiceProcess {
        try await ServiceProcess(executable: "beacon-pinger", name: "\(name)-\(runId)", port: FreePort.next(), environment: try pingerEnvironment())
    }

    func startPusher() async throws -> ServiceProcess {
        try await ServiceProcess(executable: "beacon-pusher", name: "pusher-\(runId)", port: FreePort.next(), environment: [
            "BEACON_KAFKA_BROKERS": try TestEnvironment.kafkaBrokers(), "BEACON_KAFKA_APNS_TOPIC": apnsTopic,
            "BEACON_KAFKA_FCM_TOPIC": apnsTopic, "BEACON_KAFKA_FEEDBACK_TOPIC": feedbackTopic, "BEACON_KAFKA_GROUP": "pusher-\(runId)",
            "BEACON_KAFKA_SESSION_TIMEOUT_MS": "3000", "BEACON_MONGO_URL": try TestEnvironment.mongoURL(),
            "BEACON_MONGO_DATABASE": database, "BEACON_PUSHER_DRY_RUN": "true",
        ])
    }

    /// The dovecot ports `make test` started (IDLE with implicit TLS or STARTTLS, and one without IDLE).
    enum Server: String {
        case imaps = "BEACON_TEST_IMAPS_PORT", imap = "BEACON_TEST_IMAP_PORT", noIdle = "BEACON_TEST_IMAP_NOIDLE_PORT"
        var port: Int { get throws { Int(try TestEnvironment.value(rawValue))! } }
    }

    struct RegistrationRefused: Error, CustomStringConvertible {
        let status: Int, body: String
        var description: String { "register answered \(status): \(body)" }
    }

    struct Registered {
        let registrationId: String
        let stopToken: String
    }

    /// Registers a mailbox at the tracker as a device would.
    func register(
        _ tracker: ServiceProcess, user: String, password: String, server: Server, tls: String, token: String,
        expiresIn: Int = 3_600, count: Bool = true
    ) async throws -> Registered {
        let body: [String: Any] = [
            "device": ["token": token, "type": "ios"],
            "account": ["host": "127.0.0.1", "port": try server.port, "tls": tls, "username": user, "password": password, "mailbox": "INBOX"],
            "notification": ["alert": "New mail", "silent": false, "count": count], "expiresIn": expiresIn,
        ]
        let reply = try await HTTP.postJSON("\(tracker.baseURL)/v1/mail/register", json: body, writeKey: BeaconStack.writeKey)
        guard reply.status == 202, let json = try? reply.json(), let id = json["registrationId"] as? String,
              let stopToken = json["stopToken"] as? String
        else { throw RegistrationRefused(status: reply.status, body: reply.text) }
        return Registered(registrationId: id, stopToken: stopToken)
    }

    func post(_ tracker: ServiceProcess, _ path: String, _ body: [String: Any]) async throws -> HTTP.Reply {
        try await HTTP.postJSON("\(tracker.baseURL)\(path)", json: body, writeKey: BeaconStack.writeKey)
    }

    /// A sample of the pinger's /metrics.
    static func metric(_ process: ServiceProcess, _ series: String) async throws -> Double {
        PrometheusText.value(try await HTTP.get("\(process.baseURL)/metrics").text, series)
    }

    /// The push requests for one registration on the push topic.
    func pushes(_ collector: KafkaCollector, _ registrationId: String) -> [[String: Any]] {
        collector.messages.map(\.json).filter { ($0["sourceMessageId"] as? String) == registrationId }
    }

    func collector(_ topic: String) throws -> KafkaCollector {
        try KafkaCollector(topic: topic) { _ in true }
    }
}
