import BeaconCore
import BeaconKafka
import Hummingbird
import HummingbirdWebSocket
import ServiceLifecycle

/// The live view: the page at `/` and the WebSocket at `/ws`, both behind
/// the token, and the taps that tail topics.
public enum LiveView: ServiceDefinition {
    public static let name = "liveview"
    public static let abstract = "Beacon's live view: tail any topic in the browser, filtered on the server."

    public static func parts(_ settings: LiveViewSettings, options: NoOptions, context: ServiceContext) async throws -> [any Service] {
        let metrics = LiveViewMetrics()
        let taps = TopicTaps(topics: settings.topics, kafka: settings.kafka, drainTimeout: settings.drainTimeout, logger: context.logger)
        let runner = SessionRunner(taps: taps, queueSize: settings.queueSize, metrics: metrics)
        let token = AccessToken(settings.token)
        let reachability = KafkaReachability(brokers: settings.kafka.brokers, readiness: context.condition("kafka", reason: "not reached yet"))
        let app = Application(
            router: makeRouter(token: token, assets: try PageAssets(), metrics: metrics, readiness: context.readiness),
            server: .http1WebSocketUpgrade(webSocketRouter: makeWebSocketRouter(token: token, runner: runner, metrics: metrics)),
            configuration: settings.http,
            logger: context.logger
        )
        context.logger.info("liveview starting", metadata: ["topics": "\(settings.topics)"])
        // The taps stop after the server, once no browser watches any more.
        return [BlockingLoopService([reachability], drainTimeout: settings.drainTimeout, logger: context.logger), taps, app]
    }

    static func makeRouter(token: AccessToken, assets: PageAssets, metrics: LiveViewMetrics, readiness: Readiness) -> Router<BasicRequestContext> {
        let router = Router()
        OperationalRoutes.add(to: router, readiness: readiness)
        router.get("/") { request, _ -> Response in
            guard token.allows(request) else {
                metrics.unauthorized.increment()
                return unauthorized()
            }
            return assets.response(assets.page)
        }
        router.get("/assets/:name") { _, context -> Response in
            guard let name = context.parameters.get("name"), let asset = assets.files[name] else { return Response(status: .notFound) }
            return assets.response(asset)
        }
        // Reached only when the upgrade was refused.
        router.get("/ws") { request, _ -> Response in
            guard token.allows(request) else {
                metrics.unauthorized.increment()
                return unauthorized()
            }
            return Response(status: .badRequest, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"error":"expected a WebSocket upgrade"}"#)))
        }
        return router
    }

    static func makeWebSocketRouter(token: AccessToken, runner: SessionRunner, metrics: LiveViewMetrics) -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("/ws") { request, _ in
            guard token.allows(request) else {
                // hummingbird-websocket answers a refused upgrade with its own
                // empty 400; the router's 401 is reached only without one.
                metrics.unauthorized.increment()
                return .dontUpgrade
            }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            try await runner.run(inbound: inbound, outbound: outbound, logger: context.logger)
        }
        return router
    }

    static func unauthorized() -> Response {
        Response(
            status: .unauthorized,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"error":"a valid token is required: open /?token=YOUR_TOKEN"}"#))
        )
    }
}
