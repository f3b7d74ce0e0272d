import BeaconCore
import BeaconMongo
import Hummingbird
import Logging

/// Wires the consumers: each enabled consumer is its own Kafka consumer group
/// on its own thread; one small HTTP server serves health, metrics and /stats.
public enum ConsumersApplication {
    public static func run(options: ServiceOptions, only: [String]) async throws {
        let bootstrap = try await ServiceBootstrap(service: "consumers", options: options)
        let logger = bootstrap.logger, readiness = bootstrap.readiness
        let settings = try ConsumersSettings(bootstrap.config, only: only)

        // Rules are checked before anything starts: a malformed file stops start-up.
        let rules = try settings.enabled.contains("rules") ? settings.rulesFile.map(RuleSet.load(path:)) ?? .empty : .empty
        var registry: DeviceRegistry?
        if settings.enabled.contains("registry") || settings.enabled.contains("rules") {
            let pool = try MongoClientPool(uri: settings.mongoURL, appName: "beacon-consumers")
            let devices = DeviceRegistry(devices: pool.collection(database: settings.database, name: settings.devicesCollection))
            try devices.prepare()
            registry = devices
        }
        var webhooks: WebhookSender?
        var handlers: [any EventHandler] = []
        for name in settings.enabled {
            switch name {
            case "registry":
                handlers.append(RegistryHandler(registry: registry!))
            case "counters":
                handlers.append(CounterHandler(redisURL: settings.redisURL, retentionSeconds: settings.counterRetentionSeconds))
            case "rules":
                let sender = WebhookSender(timeout: settings.webhookTimeout, allowPrivate: settings.webhooksAllowPrivate)
                webhooks = sender
                handlers.append(RulesHandler(
                    rules: rules, registry: registry!, caps: FrequencyCapStore(redisURL: settings.redisURL),
                    writer: try PushRequestWriter(brokers: settings.loop.brokers), webhooks: sender,
                    apnsTopic: settings.apnsTopic, fcmTopic: settings.fcmTopic, logger: logger))
                logger.info("rules loaded", metadata: ["file": "\(settings.rulesFile ?? "-")", "rules": "\(rules.rules.count)"])
            default:
                break
            }
        }
        let loops = handlers.map { ConsumerLoop(handler: $0, settings: settings.loop, readiness: readiness, logger: logger) }
        let workers = BlockingWorkers(loops.map { loop in
            BlockingWorkers.Worker(name: "consumer-\(loop.handler.name)") { shouldStop in loop.run(shouldStop: shouldStop) }
        })

        let router = Router()
        OperationalRoutes.add(to: router, readiness: readiness)
        StatsRoute.add(to: router, query: StatsQuery(redisURL: settings.redisURL))
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "beacon-consumers"),
            logger: logger
        )
        logger.info("consumers starting", metadata: ["consumers": "\(settings.enabled)", "address": "\(settings.host):\(settings.port)"])
        // Clean up whatever way the services ended: the webhook client must be shut down.
        let ended = await Result(catching: { try await ServiceRunner.run([workers, app], logger: logger) })
        await webhooks?.shutdown()
        try ended.get()
    }
}
