import BeaconCore
import Hummingbird
import ServiceLifecycle

/// The tracker: HTTP intake in front, the Redis writer behind.
public enum Tracker: ServiceDefinition {
    public static let name = "tracker"
    public static let abstract = "Beacon's public intake: the Segment tracking API and a pixel, into a Redis Stream."

    public static func parts(_ settings: TrackerSettings, options: NoOptions, context: ServiceContext) async throws -> [any Service] {
        let metrics = TrackerMetrics(apps: settings.writeKeys.appNames)
        let queue = EventQueue<WriteRequest>(capacity: settings.bufferCapacity)
        let writer = StreamWriter(settings: settings.writer, queue: queue, context: context, metrics: metrics)
        let intake = EventIntake(
            writeKeys: settings.writeKeys, limits: settings.limits,
            clientAddress: ClientAddress(trustedProxies: settings.trustedProxies), origins: settings.cors.origins,
            queue: queue, writer: writer, metrics: metrics
        )
        let app = Application(
            router: makeRouter(intake: intake, readiness: context.readiness, cors: settings.cors),
            server: .guardedHTTP1(settings.connections, observer: metrics), configuration: settings.http,
            logger: context.logger)
        context.logger.info("tracker starting", metadata: ["redis": "\(settings.writer.redisURL)"])
        // The writer first, so it stops last: the server stops taking
        // requests, then the writer drains what they queued.
        return [BlockingLoopService([writer], drainTimeout: settings.drainTimeout, logger: context.logger), app]
    }

    static func makeRouter(intake: EventIntake, readiness: Readiness, cors: CORSPolicy = .open) -> Router<TrackerRequestContext> {
        let router = Router(context: TrackerRequestContext.self)
        // Before routing, so that a preflight (OPTIONS, which no route takes)
        // is answered and every answer, 404 included, carries the CORS headers.
        router.add(middleware: cors.middleware())
        OperationalRoutes.add(to: router, readiness: readiness)
        let counted = router.group().add(middleware: IntakeRequestCounting(metrics: intake.metrics))
        let v1 = counted.group("v1")
        for type in EventType.allCases {
            let handler: @Sendable (Request, TrackerRequestContext) async throws -> Response = { request, context in
                try await intake.handle(request, context: context, type: type)
            }
            v1.post(RouterPath(type.rawValue), use: handler)
            // analytics.js's standard dispatcher: /v1/t, /v1/i, /v1/p, /v1/s, /v1/g, /v1/a.
            v1.post(RouterPath(String(type.rawValue.prefix(1))), use: handler)
        }
        // /v1/b: analytics.js's batching dispatcher.
        for path in ["batch", "import", "b"] {
            v1.post(RouterPath(path)) { request, context in try await intake.handle(request, context: context, type: nil) }
        }
        let pixel = PixelIntake(intake: intake)
        counted.get("t/:event") { request, context in try await pixel.handle(request, context: context) }
        return router
    }
}
