import BeaconCore
import Hummingbird
import Logging
import ServiceLifecycle

/// Wires the tracker together: HTTP intake in front, the Redis writer behind.
public enum TrackerApplication {
    public static func run(options: ServiceOptions) async throws {
        let bootstrap = try await ServiceBootstrap(service: "tracker", options: options)
        let logger = bootstrap.logger, readiness = bootstrap.readiness
        let settings = try TrackerSettings(bootstrap.config)
        let metrics = TrackerMetrics(apps: settings.writeKeys.appNames)
        let queue = EventQueue<WriteRequest>(capacity: settings.bufferCapacity)
        let writer = StreamWriter(settings: settings.writer, queue: queue, readiness: readiness, metrics: metrics, logger: logger)
        let intake = EventIntake(
            writeKeys: settings.writeKeys, limits: settings.limits,
            clientAddress: ClientAddress(trustedProxies: settings.trustedProxies),
            queue: queue, writer: writer, metrics: metrics
        )
        let app = Application(
            router: makeRouter(intake: intake, readiness: readiness),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "beacon-tracker"),
            logger: logger
        )
        logger.info("tracker starting", metadata: ["address": "\(settings.host):\(settings.port)", "redis": "\(settings.writer.redisURL)"])
        // The writer is listed first so it shuts down last: the server stops
        // taking requests, then the writer drains what they queued.
        try await ServiceRunner.run([writer, app], logger: logger)
    }

    static func makeRouter(intake: EventIntake, readiness: Readiness) -> Router<TrackerRequestContext> {
        let router = Router(context: TrackerRequestContext.self)
        OperationalRoutes.add(to: router, readiness: readiness)
        let v1 = router.group("v1")
        for type in EventType.allCases {
            v1.post(RouterPath(type.rawValue)) { request, context in await intake.handle(request, context: context, type: type) }
        }
        v1.post("batch") { request, context in await intake.handle(request, context: context, type: nil) }
        v1.post("import") { request, context in await intake.handle(request, context: context, type: nil) }
        let pixel = PixelIntake(intake: intake)
        router.get("t/:event") { request, context in await pixel.handle(request, context: context) }
        return router
    }
}
