import BeaconCore
import BeaconKafka
import BeaconMongo
import BeaconSealing
import Hummingbird
import NIOPosix
import ServiceLifecycle

/// The pinger: mail registrations from Kafka, one IMAP session per mailbox
/// of the partitions this instance owns, new mail as push requests.
public enum Pinger: ServiceDefinition {
    public static let name = "pinger"
    public static let abstract = "Beacon's mail pinger: watches registered mailboxes with IMAP IDLE (or polling) and pushes on new mail."

    public static func parts(_ settings: PingerSettings, options: NoOptions, context: ServiceContext) async throws -> [any Service] {
        let logger = context.logger
        let keys = try MailSealingPrivateKeys(files: settings.privateKeyFiles)
        // The public key goes to the trackers (mail.publicKeyFile).
        logger.info("mail credentials key", metadata: [
            "keyId": "\(keys.publicKey.keyId)", "acceptedKeyIds": "\(keys.keyIds)", "publicKey": "\(keys.publicKey.pem)",
        ])
        let metrics = PingerMetrics()
        let pool = try MongoClientPool(uri: settings.mongo.url, appName: "beacon-pinger")
        let store = RegistrationStore(collection: pool.collection(database: settings.mongo.database, name: settings.registrationsCollection))
        let mongoReady = context.condition("mongodb", reason: "not connected yet")

        let pushSender = try KafkaSender(
            config: KafkaProducerConfig(brokers: settings.kafka.brokers, clientId: "beacon-pinger-push"), name: "push",
            drainTimeout: settings.drainTimeout, readiness: context.condition("kafka push"), metricsPrefix: "beacon_pinger_kafka",
            logger: logger)
        let stopSender = try KafkaSender(
            config: KafkaProducerConfig(brokers: settings.kafka.brokers, clientId: "beacon-pinger-stops"), name: "stops",
            drainTimeout: settings.drainTimeout, logger: logger)
        let sessionContext = MailboxSession.Context(
            settings: settings.session, opener: AccountOpener(keys: keys, allowPlaintext: settings.session.allowPlaintext), store: store,
            pusher: MailPushWriter(sender: pushSender, topics: settings.pushTopics, metrics: metrics), metrics: metrics,
            group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        let supervisor = SessionSupervisor(context: sessionContext, maxSessions: settings.maxSessions, drainTimeout: settings.drainTimeout)
        let loader = PartitionLoader(store: store, supervisor: supervisor, mongoReady: mongoReady, logger: logger)
        let registrations = KafkaConsumerLoop(
            name: "registrations", settings: settings.kafka.loop(.group(settings.group, topics: [settings.mailTopic])),
            handler: RegistrationConsumer(
                store: store, supervisor: supervisor, loader: loader, metrics: metrics, mongoReady: mongoReady, logger: logger),
            readiness: context.condition("kafka", reason: "not subscribed yet"), logger: logger)
        let feedback = KafkaConsumerLoop(
            name: "feedback", settings: settings.kafka.loop(.group(settings.feedbackGroup, topics: [settings.feedbackTopic])),
            handler: MailFeedbackHandler(sender: stopSender, mailTopic: settings.mailTopic, metrics: metrics, logger: logger),
            readiness: nil, logger: logger)

        let router = Router()
        OperationalRoutes.add(to: router, readiness: context.readiness)
        let http = Application(router: router, configuration: settings.http, logger: logger)
        // Stopped in reverse: the server, the loops (no new work), the
        // sessions (they log out; pushes in flight finish), then the senders.
        return [pushSender, stopSender, supervisor,
                BlockingLoopService([loader, registrations, feedback], drainTimeout: settings.drainTimeout, logger: logger), http]
    }
}
