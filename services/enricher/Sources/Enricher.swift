import BeaconCore
import BeaconGeoIP
import BeaconKafka
import Hummingbird
import ServiceLifecycle

/// The enricher: one pipeline per Redis Stream into Kafka, each with a
/// sender of its own (events, overflow, and mail registrations and webhook
/// requests forwarded verbatim), and a small HTTP server for health and metrics.
public enum Enricher: ServiceDefinition {
    public static let name = "enricher"
    public static let abstract = "Reads Beacon's Redis Streams, validates and enriches each event, and produces it to Kafka."

    public static func parts(_ settings: EnricherSettings, options: NoOptions, context: ServiceContext) async throws -> [any Service] {
        let logger = context.logger
        let metrics = EnricherMetrics()
        var geo: GeoEnrichment?
        if let path = settings.geoipDatabase {
            let database = try GeoIPDatabase(path: path)
            geo = GeoEnrichment(database: database, cacheSize: settings.geoipCacheSize)
            logger.info("geoip database loaded", metadata: ["path": "\(path)", "type": "\(database.databaseType)"])
        } else {
            logger.warning("no geoip.database configured: events get no enrichment.geo")
        }
        // DeviceEnrichment caches the finished object per user agent; a second
        // cache of parse results behind it would only hold the same agents again.
        let parser = try UserAgentParser(regexesPath: settings.regexesPath, cacheCapacity: 0)
        let enricher = EventEnricher(geo: geo, device: DeviceEnrichment(parser: parser, cacheSize: settings.deviceCacheSize))
        logger.info("kafka client", metadata: ["librdkafka": "\(kafkaLibraryVersion())", "brokers": "\(settings.producer.brokers)"])
        if !kafkaLibraryIsAtLeast(major: 2, minor: 2) {
            logger.warning("librdkafka older than 2.2 is loaded; it cannot talk to some brokers (Tansu). Put a newer librdkafka.so.1 on LD_LIBRARY_PATH")
        }

        var senders: [KafkaSender] = []
        var pipelines: [StreamPipeline] = []
        // Each pipeline has a sender of its own: a sender's delivery reports
        // belong to the one forwarder that produced through it.
        let streams = settings.sources.enumerated().map { ("pipeline-\($0)", "events-\($0)", $1, settings.pipeline) }
            + settings.overflowSources.enumerated().map { ("overflow-\($0)", "overflow-\($0)", $1, settings.overflowPipeline) }
            + settings.mailSources.enumerated().map { ("mail-\($0)", "mail-\($0)", $1, settings.mailPipeline) }
            + settings.webhookSources.enumerated().map { ("webhooks-\($0)", "webhooks-\($0)", $1, settings.webhookPipeline) }
        for (name, senderName, source, pipelineSettings) in streams {
            let sender = try KafkaSender(
                config: settings.producer, name: senderName, drainTimeout: settings.drainTimeout,
                readiness: context.condition("kafka \(senderName) \(source.url)"),
                metricsPrefix: EnricherMetrics.kafkaPrefix, logger: logger)
            senders.append(sender)
            pipelines.append(StreamPipeline(
                name: name, source: source, sender: sender, enricher: enricher, settings: pipelineSettings,
                metrics: metrics, context: context))
        }
        let router = Router()
        OperationalRoutes.add(to: router, readiness: context.readiness)
        let http = Application(router: router, configuration: settings.http, logger: logger)
        logger.info("enricher starting", metadata: [
            "streams": "\(settings.sources.map { "\($0.url)/\($0.stream)" })", "topic": "\(settings.pipeline.topic)",
        ])
        // Stopped in reverse: the server, then the pipelines (they drain what
        // Kafka has not confirmed), then the senders.
        return senders + [BlockingLoopService(pipelines, drainTimeout: settings.drainTimeout, logger: logger), http]
    }
}
