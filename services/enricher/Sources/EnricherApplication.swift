import BeaconCore
import BeaconGeoIP
import BeaconKafka
import Hummingbird
import Logging

/// Wires the enricher: one pipeline per Redis Stream into Kafka, and a small
/// HTTP server for health, readiness and metrics.
public enum EnricherApplication {
    public static func run(options: ServiceOptions) async throws {
        let bootstrap = try await ServiceBootstrap(service: "enricher", options: options)
        let logger = bootstrap.logger, readiness = bootstrap.readiness
        let settings = try EnricherSettings(bootstrap.config)
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

        let pipelines = try settings.sources.map { source in
            StreamPipeline(
                source: StreamSource(settings: source),
                forwarder: try EventForwarder(config: settings.producer, metrics: metrics, readiness: readiness),
                enricher: enricher, settings: settings.pipeline,
                metrics: metrics, readiness: readiness, logger: logger
            )
        }
        let router = Router()
        OperationalRoutes.add(to: router, readiness: readiness)
        let admin = Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "beacon-enricher"),
            logger: logger
        )
        logger.info("enricher starting", metadata: [
            "streams": "\(settings.sources.map { "\($0.url)/\($0.stream)" })", "topic": "\(settings.pipeline.topic)",
        ])
        let workers = BlockingWorkers(pipelines.enumerated().map { index, pipeline in
            BlockingWorkers.Worker(name: "pipeline-\(index)") { shouldStop in pipeline.run(shouldStop: shouldStop) }
        })
        try await ServiceRunner.run([workers, admin], logger: logger)
    }
}
