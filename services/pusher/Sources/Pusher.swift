import AsyncHTTPClient
import BeaconCore
import BeaconKafka
import BeaconMongo
import Hummingbird
import ServiceLifecycle

/// The pusher: push requests from Kafka, APNs and FCM clients per app,
/// outcomes to the feedback topic, invalid tokens out of the registry.
public enum Pusher: ServiceDefinition {
    public static let name = "pusher"
    public static let abstract = "Beacon's pusher: push requests from Kafka to APNs and FCM, outcomes to beacon.push.feedback."

    public static func parts(_ settings: PusherSettings, options: NoOptions, context: ServiceContext) async throws -> [any Service] {
        let logger = context.logger
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        context.onShutdown { try? await httpClient.shutdown() }
        let apps = try PushApps.load(settings, httpClient: httpClient)
        context.onShutdown { await apps.shutdown() }
        logger.info("push credentials", metadata: [
            "apns": "\(apps.apns.keys.sorted())", "fcm": "\(apps.fcm.keys.sorted())", "dryRun": "\(settings.dryRun)",
        ])

        let metrics = PusherMetrics()
        let pool = try MongoClientPool(uri: settings.mongo.url, appName: "beacon-pusher")
        let devices = DeviceStore(collection: pool.collection(database: settings.mongo.database, name: settings.mongo.devices))
        let remover = InvalidTokenRemover(devices: devices, logger: logger) { app, count in
            // Counted per app; the platform is not known after the batch delete.
            metrics.counter("beacon_pusher_invalid_tokens_removed_total", app: app, platform: "any").increment(by: count)
        }
        let feedbackSender = try KafkaSender(
            config: KafkaProducerConfig(brokers: settings.kafka.brokers, clientId: "beacon-pusher-feedback"), name: "feedback",
            drainTimeout: settings.drainTimeout, logger: logger)
        let dispatcher = PushDispatcher(
            settings: .init(
                loop: settings.kafka.loop(.group(settings.group, topics: Array(settings.topics.values))),
                concurrency: settings.concurrency, maxUnconfirmed: settings.maxUnconfirmed, drainTimeout: settings.drainTimeout),
            delivery: PushDelivery(
                sender: PushSender(apps: apps, retry: settings.retry, dryRun: settings.dryRun),
                feedback: FeedbackWriter(sender: feedbackSender, topic: settings.feedbackTopic), remover: remover, metrics: metrics,
                logger: logger),
            readiness: context.condition("kafka", reason: "not subscribed yet"))

        let router = Router()
        OperationalRoutes.add(to: router, readiness: context.readiness)
        let http = Application(router: router, configuration: settings.http, logger: logger)
        // Stopped in reverse: the server, the dispatcher (it drains the sends
        // in flight, which need the remover and the feedback), the remover,
        // and last the feedback sender.
        return [feedbackSender, BlockingLoopService([remover], drainTimeout: settings.drainTimeout, logger: logger), dispatcher, http]
    }
}
