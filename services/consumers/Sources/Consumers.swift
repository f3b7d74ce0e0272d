import ArgumentParser
import BeaconCore
import BeaconKafka
import BeaconMongo
import BeaconRedis
import Hummingbird
import ServiceLifecycle

/// The consumers: each enabled consumer is its own Kafka consumer group on
/// its own loop thread; one small HTTP server serves health, metrics and /stats.
public enum Consumers: ServiceDefinition {
    public static let name = "consumers"
    public static let abstract = "Beacon's consumers: the device registry, rules (push and webhook requests) and counters of beacon.events, and the webhook delivery worker of beacon.webhooks."

    public struct Options: ParsableArguments, Sendable {
        @Option(name: .long, help: "Run only these consumers (registry, rules, counters, webhooks), comma-separated; default: consumers.enabled.")
        var only: String?

        @Argument(help: "replay: re-enqueue parked work (see --from) and exit, instead of running the consumers.")
        var command: String?

        @Option(name: .long, help: "replay from webhooks (beacon.webhooks.failed) or events (beacon.events.failed).")
        var from: String = "webhooks"

        @Option(name: .long, help: "replay only this app's records.") var app: String?
        @Option(name: .long, help: "replay only webhooks of this rule.") var rule: String?
        @Option(name: .long, help: "replay only webhooks to this host.") var host: String?
        @Option(name: .long, help: "replay only events parked by this consumer.") var consumer: String?
        @Option(name: .long, help: "replay only records that failed at or after this ISO 8601 time.") var since: String?
        @Option(name: .long, help: "replay only records that failed at or before this ISO 8601 time.") var until: String?
        @Flag(name: .long, help: "count what a replay would take, and take nothing.") var dryRun = false

        public init() {}

        var replayParameters: [(String, String)] {
            [("app", app), ("rule", rule), ("host", host), ("consumer", consumer), ("since", since), ("until", until)]
                .compactMap { name, value in value.map { (name, $0) } }
        }
    }

    public static func parts(_ settings: ConsumersSettings, options: Options, context: ServiceContext) async throws -> [any Service] {
        let logger = context.logger
        if let command = options.command {
            guard command == "replay" else { throw ServiceError.permanent("unknown command \(command) (expected replay)") }
            try await replay(settings, options: options)
            return []
        }
        let enabled = try settings.enabled(only: options.only)
        // Rules are checked before anything starts: a malformed file stops start-up.
        let rules = try enabled.contains(.rules) ? settings.rulesFile.map(RuleSet.load(path:)) ?? .empty : .empty
        var devices: DeviceStore?
        var webhookLog: WebhookAttemptLog?
        if enabled.contains(.registry) || enabled.contains(.rules) || enabled.contains(.webhooks) {
            let pool = try MongoClientPool(uri: settings.mongo.url, appName: "beacon-consumers")
            if enabled.contains(.registry) || enabled.contains(.rules) {
                let store = DeviceStore(collection: pool.collection(database: settings.mongo.database, name: settings.mongo.devices))
                try await BlockingWork.run { try store.prepare() }
                devices = store
            }
            let log = WebhookAttemptLog(
                collection: pool.collection(database: settings.mongo.database, name: settings.webhookLogCollection),
                retentionDays: settings.webhookLogRetentionDays)
            try await BlockingWork.run { try log.prepare() }
            webhookLog = log
        }
        let adminTokens = try AdminTokens(tokens: settings.adminTokens, file: settings.adminTokensFile)
        if adminTokens.isEmpty { logger.warning("no admin token configured: the admin routes answer 503 (set consumers.adminTokens)") }
        let redis = RedisClient(url: settings.redisURL)
        let failedSender = try KafkaSender(
            config: settings.producer(clientId: "beacon-consumers-failed"), name: "failed-events", drainTimeout: settings.drainTimeout,
            logger: logger)
        var senders = [failedSender]
        var handlers: [any EventHandler] = []
        var services: [any Service] = []
        for consumer in enabled {
            switch consumer {
            case .registry:
                handlers.append(RegistryHandler(devices: devices!))
            case .counters:
                handlers.append(CounterHandler(redis: RedisClient(url: settings.redisURL), retentionSeconds: settings.counterRetentionSeconds))
            case .webhooks:
                let worker = try WebhookWorker(settings: settings, context: context, log: webhookLog)
                senders.append(worker.failedSender)
                handlers.append(worker.intake)
                services.append(worker.dispatcher)
            case .rules:
                let pushSender = try KafkaSender(
                    config: settings.producer(clientId: "beacon-consumers-rules"), name: "push-requests",
                    drainTimeout: settings.drainTimeout, logger: logger)
                senders.append(pushSender)
                handlers.append(RulesHandler(
                    rules: rules, devices: devices!, caps: FrequencyCapStore(redis: RedisClient(url: settings.redisURL)),
                    writer: PushRequestWriter(sender: pushSender, topics: settings.pushTopics),
                    webhooks: WebhookRequestWriter(sender: pushSender, topic: settings.webhooks.topic), logger: logger))
                logger.info("rules loaded", metadata: ["file": "\(settings.rulesFile ?? "-")", "rules": "\(rules.rules.count)"])
            }
        }
        let failed = FailedEventWriter(sender: failedSender, topic: settings.failedTopic)
        let loops = handlers.map { handler in
            KafkaConsumerLoop(
                name: "consumer-\(handler.name)",
                settings: settings.consumerLoop(
                    group: settings.groupPrefix + handler.name, topic: handler.name == "webhooks" ? settings.webhooks.topic : nil),
                handler: EventConsumer(handler: handler, policy: settings.retry, failed: failed, logger: logger),
                readiness: context.condition("kafka \(handler.name)"), logger: logger)
        }

        let router = makeRouter(
            readiness: context.readiness, stats: StatsQuery(redis: redis), adminTokens: adminTokens, webhookLog: webhookLog,
            replay: { source, filter, dryRun in try FailedReplay(settings: settings, source: source).run(filter, dryRun: dryRun) })
        let http = Application(router: router, configuration: settings.http, logger: logger)
        logger.info("consumers starting", metadata: ["consumers": "\(enabled.map(\.rawValue))"])
        // Stopped in reverse: the server, the consumer loops (each finishes the
        // event in hand and commits), then the senders they wrote through.
        // The webhook dispatcher stops after the loops: what they scheduled is
        // in Redis by then, and it stops with its calls in flight answered.
        return senders + services + [BlockingLoopService(loops, drainTimeout: settings.drainTimeout, logger: logger), http]
    }

    /// `webhookLog` nil: this process keeps no delivery log, and its routes say so (503).
    /// `beacon-consumers replay …`: prints what was scanned, matched and re-enqueued, as JSON.
    static func replay(_ settings: ConsumersSettings, options: Options) async throws {
        guard let source = FailedReplay.Source(rawValue: options.from) else {
            throw ServiceError.permanent("--from must be webhooks or events, not \(options.from)")
        }
        let filter = try ReplayFilter(parameters: options.replayParameters)
        let outcome = try await BlockingWork.run { try FailedReplay(settings: settings, source: source).run(filter, dryRun: options.dryRun) }
        var json = outcome.json.objectValue ?? JSONObject()
        json["from"] = .string(source.rawValue)
        json["dryRun"] = .bool(options.dryRun)
        print(JSONWriter.string(.object(json)))
    }

    static func makeRouter(
        readiness: Readiness, stats: StatsQuery, adminTokens: AdminTokens, webhookLog: WebhookAttemptLog?,
        replay: @escaping AdminRoutes.Replay = { _, _, _ in throw ServiceError.permanent("replay is not available here") }
    ) -> Router<BasicRequestContext> {
        let router = Router()
        OperationalRoutes.add(to: router, readiness: readiness)
        AdminRoutes.add(to: router, tokens: adminTokens, stats: stats, log: webhookLog, replay: replay)
        return router
    }
}
