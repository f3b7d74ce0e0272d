import BeaconCore
import Hummingbird
import HummingbirdCore
import ServiceLifecycle

/// The tracker: HTTP (and, when `tracker.udpPort` is set, UDP) intake in front, the Redis writer behind.
public enum Tracker: ServiceDefinition {
    public static let name = "tracker"
    public static let abstract = "Beacon's public intake: the Segment tracking API and a pixel, into a Redis Stream."

    public static func parts(_ settings: TrackerSettings, options: NoOptions, context: ServiceContext) async throws -> [any Service] {
        let metrics = TrackerMetrics(apps: settings.writeKeys.appNames)
        let queue = EventQueue<WriteRequest>(capacity: settings.bufferCapacity)
        let writer = StreamWriter(settings: settings.writer, queue: queue, context: context, metrics: metrics)
        // One reader, one set of rate limits and one way into the writer for HTTP and UDP alike.
        let reader = PayloadReader(limits: settings.limits)
        let admission = EventAdmission(limits: settings.rateLimits, trackedUsers: settings.trackedUsers, metrics: metrics)
        let submitter = EventSubmitter(queue: queue, writer: writer, ackTimeout: settings.limits.ackTimeout)
        let intake = EventIntake(
            writeKeys: settings.writeKeys, reader: reader,
            clientAddress: ClientAddress(trustedProxies: settings.trustedProxies), origins: settings.cors.origins,
            admission: admission, submitter: submitter, metrics: metrics
        )
        let requests = RouterRequests(writeKeys: settings.writeKeys, origins: settings.cors.origins)
        let mail = MailRoutes(
            settings: settings.mail, requests: requests,
            writer: settings.mail.map { MailWriter(submitter: submitter, stream: $0.stream) }, metrics: metrics)
        let postbacks = PostbackRoutes(
            settings: settings.postback, requests: requests,
            writer: PostbackWriter(submitter: submitter, stream: settings.postback.stream), metrics: metrics)
        if let key = settings.mail?.publicKey {
            context.logger.info("mail registration on", metadata: ["keyId": "\(key.keyId)", "stream": "\(settings.mailStream)"])
        }
        context.logger.info("postbacks", metadata: [
            "apps": "\(settings.postback.appsWithHosts)", "stream": "\(settings.postback.stream)",
        ])
        let app = Application(
            router: makeRouter(readiness: context.readiness, cors: settings.cors, mail: mail, postbacks: postbacks),
            server: server(intake: intake, cors: settings.cors, connections: settings.connections), configuration: settings.http,
            logger: context.logger)
        context.logger.info("tracker starting", metadata: ["redis": "\(settings.writer.redisURL)"])
        // The writer first, so it stops last: the server stops taking
        // requests, then the writer drains what they queued.
        var parts: [any Service] = [BlockingLoopService([writer], drainTimeout: settings.drainTimeout, logger: context.logger), app]
        if settings.udp.port != 0 {
            let datagrams = DatagramIntake(
                reader: DatagramReader(writeKeys: settings.writeKeys, reader: reader, admission: admission), submitter: submitter,
                metrics: metrics, logger: context.logger)
            parts.append(UDPListener(
                settings: settings.udp, intake: datagrams, ready: context.condition("udp", reason: "not listening yet"),
                logger: context.logger))
        }
        return parts
    }

    /// HTTP/1.1 with every connection bounded (`GuardedHTTP1Channel`) and
    /// the intake answered in the channel pipeline (`IntakeChannelHandler`);
    /// the router gets only what the intake does not take.
    static func server(intake: EventIntake, cors: CORSPolicy, connections: ConnectionBounds) -> HTTPServerBuilder {
        .guardedHTTP1(connections, observer: intake.metrics) { [IntakeChannelHandler(intake: intake, cors: cors)] }
    }

    /// Health, readiness, metrics, mail registration, postback jobs,
    /// preflights and 404s: the rare requests, on Hummingbird's router.
    static func makeRouter(
        readiness: Readiness, cors: CORSPolicy = .open, mail: MailRoutes? = nil, postbacks: PostbackRoutes? = nil
    ) -> Router<BasicRequestContext> {
        let router = Router()
        // Before routing, so that a preflight (OPTIONS, which no route takes)
        // is answered and every answer, 404 included, carries the CORS headers.
        router.add(middleware: cors.middleware())
        OperationalRoutes.add(to: router, readiness: readiness)
        mail?.add(to: router)
        postbacks?.add(to: router)
        return router
    }
}
