import AsyncHTTPClient
import BeaconCore
import BeaconMongo
import Hummingbird
import Logging

/// Wires the pusher: push requests from Kafka, APNs and FCM clients per app,
/// outcomes to the feedback topic, invalid tokens out of the registry.
public enum PusherApplication {
    public static func run(options: ServiceOptions) async throws {
        let bootstrap = try await ServiceBootstrap(service: "pusher", options: options)
        let logger = bootstrap.logger, readiness = bootstrap.readiness, config = bootstrap.config
        let brokers = config.string("kafka.brokers", default: "127.0.0.1:9092")
        let dryRun = config.bool("pusher.dryRun", default: false)
        let retry = PushRetryPolicy(
            maxAttempts: config.int("pusher.maxAttempts", default: 5),
            baseDelay: .milliseconds(config.int("pusher.backoffMs", default: 500)),
            maxDelay: .seconds(30))
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let apps = try PushApps.load(config, httpClient: httpClient, apnsConfiguration: APNsClientConfiguration(
            connections: config.int("pusher.apnsConnections", default: 2), retry: retry))
        logger.info("push credentials", metadata: [
            "apns": "\(apps.apns.keys.sorted())", "fcm": "\(apps.fcm.keys.sorted())", "dryRun": "\(dryRun)",
        ])

        let metrics = PusherMetrics()
        let pool = try MongoClientPool(uri: config.string("mongo.url", default: "mongodb://127.0.0.1:27017"), appName: "beacon-pusher")
        let devices = pool.collection(database: config.string("mongo.database", default: "beacon"), name: config.string("mongo.devices", default: "devices"))
        let remover = InvalidTokenRemover(devices: devices, logger: logger) { app, count in
            // Counted per app; the platform is not known after the batch delete.
            metrics.counter("beacon_pusher_invalid_tokens_removed_total", app: app, platform: "any").increment(by: count)
        }
        let feedback = try FeedbackWriter(brokers: brokers, topic: config.string("kafka.feedbackTopic", default: "beacon.push.feedback"))
        let sessionTimeout = config.int("kafka.sessionTimeoutMs", default: 10_000)
        let consumer = PushConsumer(
            settings: .init(
                brokers: brokers,
                topics: [config.string("kafka.apnsTopic", default: "beacon.push.apns"), config.string("kafka.fcmTopic", default: "beacon.push.fcm")],
                group: config.string("kafka.group", default: "beacon-pusher"),
                consumerProperties: [
                    "session.timeout.ms": String(sessionTimeout), "heartbeat.interval.ms": String(max(100, sessionTimeout / 6)),
                    "auto.offset.reset": "earliest",
                ],
                concurrency: config.int("pusher.concurrency", default: 200),
                maxUnconfirmed: config.int("pusher.maxUnconfirmed", default: 5_000),
                drainTimeout: .milliseconds(config.int("pusher.drainTimeoutMs", default: 20_000))),
            sender: PushSender(apps: apps, retry: retry, dryRun: dryRun),
            feedback: feedback, remover: remover, metrics: metrics, readiness: readiness, logger: logger)

        let router = Router()
        OperationalRoutes.add(to: router, readiness: readiness)
        let server = Application(
            router: router,
            configuration: .init(
                address: .hostname(config.string("http.host", default: "127.0.0.1"), port: config.int("http.port", default: 8083)),
                serverName: "beacon-pusher"),
            logger: logger
        )
        // Clean up whatever way the services ended: HTTP clients must be shut down.
        let ended = await Result(catching: { try await ServiceRunner.run([consumer, server], logger: logger) })
        feedback.close(timeoutMs: 10_000)
        remover.close()
        await apps.shutdown()
        try? await httpClient.shutdown()
        try ended.get()
    }
}
