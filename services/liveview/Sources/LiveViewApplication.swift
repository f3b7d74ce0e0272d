import Atomics
import BeaconCore
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle

/// Wires the live view: the page at `/`, the WebSocket at `/ws`, both behind
/// the token, and the taps that tail topics.
public enum LiveViewApplication {
    public static func run(options: ServiceOptions) async throws {
        let bootstrap = try await ServiceBootstrap(service: "liveview", options: options)
        let logger = bootstrap.logger, readiness = bootstrap.readiness
        let settings = try LiveViewSettings(bootstrap.config)
        let metrics = LiveViewMetrics()
        let taps = TopicTaps(topics: settings.topics, brokers: settings.brokers, logger: logger)
        let token = AccessToken(settings.token)
        let runner = SessionRunner(taps: taps, queueSize: settings.queueSize, metrics: metrics, activeSessions: ManagedAtomic(0))

        let router = Router()
        OperationalRoutes.add(to: router, readiness: readiness)
        router.get("/") { request, _ -> Response in
            guard token.allows(request) else {
                metrics.unauthorized.increment()
                return unauthorized()
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: LiveViewPage.html))
            )
        }
        // Reached only when the upgrade below was refused.
        router.get("/ws") { request, _ -> Response in
            metrics.unauthorized.increment()
            return token.allows(request)
                ? Response(status: .badRequest, headers: [.contentType: "application/json"],
                           body: .init(byteBuffer: ByteBuffer(string: #"{"error":"expected a WebSocket upgrade"}"#)))
                : unauthorized()
        }

        let webSocketRouter = Router(context: BasicWebSocketRequestContext.self)
        webSocketRouter.ws("/ws") { request, _ in
            token.allows(request) ? .upgrade([:]) : .dontUpgrade
        } onUpgrade: { inbound, outbound, context in
            try await runner.run(inbound: inbound, outbound: outbound, logger: context.logger)
        }

        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: webSocketRouter),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "beacon-liveview"),
            logger: logger
        )
        logger.info("liveview starting", metadata: ["address": "\(settings.host):\(settings.port)", "topics": "\(settings.topics)"])
        try await ServiceRunner.run([TapShutdown(taps: taps), app], logger: logger)
    }

    static func unauthorized() -> Response {
        Response(
            status: .unauthorized,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"error":"a valid token is required: open /?token=YOUR_TOKEN"}"#))
        )
    }
}

/// Stops the taps' threads after the server stopped.
struct TapShutdown: Service {
    let taps: TopicTaps

    func run() async throws {
        try? await gracefulShutdown()
        taps.stopAll()
    }
}
