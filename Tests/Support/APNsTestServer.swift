import BeaconCore
import Crypto
import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// A stand-in for APNs: HTTP/2 over TLS on 127.0.0.1, speaking the provider
/// API as Apple documents it. It checks the provider token (ES256 signature
/// with the team's public key, `kid`, `iss`, `iat` at most an hour old), the
/// request line and `apns-*` headers, and the payload size, and answers the
/// documented status and `reason`. For a device token it answers what the
/// test scripted, in order, and 200 once the script is used up.
///
///     let server = try await APNsTestServer.start(teamId: "TEAM123456", keyId: "KEY1234567",
///                                                 publicKey: key.publicKey, topic: "com.example.app")
///     server.script(token: token, responses: [.tooManyRequests(retryAfter: 1), .ok])
///     // point the client at server.endpoint, trusting server.certificate
///     try await server.shutdown()
public final class APNsTestServer: Sendable {
    /// A scripted answer.
    public enum Response: Sendable, Equatable {
        case ok
        /// Any status with its `reason`; `retryAfter` (seconds) adds a `Retry-After` header.
        case status(Int, reason: String, retryAfter: Int? = nil)

        public static let badDeviceToken = Response.status(400, reason: "BadDeviceToken")
        public static let deviceTokenNotForTopic = Response.status(400, reason: "DeviceTokenNotForTopic")
        public static let unregistered = Response.status(410, reason: "Unregistered")
        public static let expiredProviderToken = Response.status(403, reason: "ExpiredProviderToken")
        public static let internalServerError = Response.status(500, reason: "InternalServerError")
        public static let serviceUnavailable = Response.status(503, reason: "ServiceUnavailable")
        public static func tooManyRequests(retryAfter: Int? = nil) -> Response {
            .status(429, reason: "TooManyRequests", retryAfter: retryAfter)
        }
    }

    /// One request as the server saw it, and what it answered.
    public struct Request: Sendable {
        public let method: String
        public let path: String
        /// The token from `/3/device/{token}`, empty when the path had none.
        public let deviceToken: String
        /// Every header in arrival order, pseudo-headers included, names lowercase.
        public let headers: [Header]
        public let payload: [UInt8]
        /// The payload parsed, nil when it is not JSON.
        public let json: JSONValue?
        /// The bearer token as sent, and its decoded header and claims (nil when undecodable).
        public let jwt: String?
        public let jwtHeader: JSONValue?
        public let jwtClaims: JSONValue?
        /// What the server answered.
        public let status: Int
        public let reason: String?
        public let apnsId: String
        /// Which TLS connection (1-based, in accept order) carried the request.
        public let connection: Int
        public let receivedAt: ContinuousClock.Instant

        /// The first value of a header, by lowercase name.
        public func header(_ name: String) -> String? {
            headers.first { $0.name == name }?.value
        }
    }

    public struct Header: Sendable, Equatable {
        public let name: String
        public let value: String
    }

    /// Counters of what the server has seen so far.
    public struct Counters: Sendable, Equatable {
        public var requests = 0
        public var delivered = 0
        public var rejected = 0
        public var connectionsAccepted = 0
        public var openConnections = 0
        public var peakOpenConnections = 0
        public var openStreams = 0
        /// The most streams open at once, over all connections.
        public var peakOpenStreams = 0
        /// The most streams open at once on a single connection.
        public var peakStreamsOnOneConnection = 0
    }

    public let port: Int
    public let teamId: String
    public let keyId: String
    public let topic: String
    /// The TLS material; clients trust `certificate.caPEM` / `certificate.trustRoots`.
    public let certificate: TestCertificate
    private let state: APNsServerState
    private let channel: any Channel

    /// `https://127.0.0.1:{port}`, for a client's endpoint override.
    public var endpoint: String { "https://127.0.0.1:\(port)" }
    /// The CA that signed the server certificate, in PEM.
    public var caPEM: String { certificate.caPEM }
    public var trustRoots: NIOSSLTrustRoots { get throws { try certificate.trustRoots } }
    /// A client TLS configuration that trusts this server.
    public func clientTLSConfiguration() throws -> TLSConfiguration { try certificate.clientTLSConfiguration() }

    /// Starts a server on 127.0.0.1 on a free port.
    ///
    /// - Parameters:
    ///   - publicKey: the public half of the team's `.p8` key; tokens are verified against it.
    ///   - topic: the app's bundle id; `{topic}.voip`, `{topic}.complication` and
    ///     other `{topic}.…` forms are accepted too.
    ///   - maxConcurrentStreams: SETTINGS_MAX_CONCURRENT_STREAMS offered to clients.
    ///   - responseDelay: how long each answer takes, to model network latency.
    ///   - now: the server's clock, for the age of `iat`.
    ///   - keepRequests: false keeps counters only (a benchmark's millions of
    ///     requests would otherwise fill memory).
    public static func start(
        teamId: String,
        keyId: String,
        publicKey: P256.Signing.PublicKey,
        topic: String,
        maxConcurrentStreams: Int = 100,
        responseDelay: Duration = .zero,
        now: @escaping @Sendable () -> Date = { Date() },
        keepRequests: Bool = true,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> APNsTestServer {
        let certificate = try TestCertificate.make()
        let sslContext = try NIOSSLContext(configuration: certificate.serverTLSConfiguration(alpn: ["h2"]))
        let state = APNsServerState(
            teamId: teamId, keyId: keyId, publicKey: publicKey, topic: topic,
            responseDelay: responseDelay, now: now, keepRequests: keepRequests
        )
        var settings = NIOHTTP2Handler.ConnectionConfiguration()
        settings.initialSettings =
            nioDefaultSettings.filter { $0.parameter != .maxConcurrentStreams }
            + [HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams)]
        let connectionConfiguration = settings
        let streamConfiguration = NIOHTTP2Handler.StreamConfiguration()

        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = state.connectionOpened()
                    channel.closeFuture.whenComplete { _ in state.connectionClosed(connection) }
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .server,
                        connectionConfiguration: connectionConfiguration,
                        streamConfiguration: streamConfiguration
                    ) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(
                                APNsStreamHandler(state: state, connection: connection)
                            )
                        }
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            throw APNsTestServerError("the APNs test server has no local port")
        }
        return APNsTestServer(
            port: port, teamId: teamId, keyId: keyId, topic: topic,
            certificate: certificate, state: state, channel: channel
        )
    }

    private init(
        port: Int, teamId: String, keyId: String, topic: String,
        certificate: TestCertificate, state: APNsServerState, channel: any Channel
    ) {
        self.port = port
        self.teamId = teamId
        self.keyId = keyId
        self.topic = topic
        self.certificate = certificate
        self.state = state
        self.channel = channel
    }

    /// Stops listening. Open connections close when their clients let go.
    public func shutdown() async throws {
        try await channel.close()
    }

    /// Answers for `token`, used one per request in order; after them, 200.
    /// A later call appends to what is left.
    public func script(token: String, responses: [Response]) {
        state.script(token: token.lowercased(), responses: responses)
    }

    /// Every request so far, in the order they were answered.
    public var received: [Request] { state.received }

    /// The requests for one device token.
    public func received(token: String) -> [Request] {
        let token = token.lowercased()
        return state.received.filter { $0.deviceToken == token }
    }

    public var counters: Counters { state.counters }
}

public struct APNsTestServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - State

/// What every connection and stream shares: the script, the log and the counters.
final class APNsServerState: Sendable {
    let teamId: String
    let keyId: String
    let publicKey: P256.Signing.PublicKey
    let topic: String
    let responseDelay: Duration
    let now: @Sendable () -> Date
    let keepRequests: Bool
    /// Tokens whose signature was valid.
    private struct Signed: Hashable { let input: String; let signature: [UInt8] }
    private let verifiedSignatures = Mutex<Set<Signed>>([])
    private let mutable = Mutex<Mutable>(Mutable())

    private struct Mutable {
        var scripts: [String: [APNsTestServer.Response]] = [:]
        var received: [APNsTestServer.Request] = []
        var counters = APNsTestServer.Counters()
        var nextConnection = 0
        var streamsByConnection: [Int: Int] = [:]
    }

    init(
        teamId: String, keyId: String, publicKey: P256.Signing.PublicKey, topic: String,
        responseDelay: Duration, now: @escaping @Sendable () -> Date, keepRequests: Bool
    ) {
        self.keepRequests = keepRequests
        self.teamId = teamId
        self.keyId = keyId
        self.publicKey = publicKey
        self.topic = topic
        self.responseDelay = responseDelay
        self.now = now
    }

    var received: [APNsTestServer.Request] { mutable.withLock { $0.received } }
    var counters: APNsTestServer.Counters { mutable.withLock { $0.counters } }

    func script(token: String, responses: [APNsTestServer.Response]) {
        mutable.withLock { $0.scripts[token, default: []].append(contentsOf: responses) }
    }

    func connectionOpened() -> Int {
        mutable.withLock { state in
            state.nextConnection += 1
            state.counters.connectionsAccepted += 1
            state.counters.openConnections += 1
            state.counters.peakOpenConnections = max(state.counters.peakOpenConnections, state.counters.openConnections)
            return state.nextConnection
        }
    }

    func connectionClosed(_ connection: Int) {
        mutable.withLock { state in
            state.counters.openConnections -= 1
            state.streamsByConnection[connection] = nil
        }
    }

    func streamOpened(on connection: Int) {
        mutable.withLock { state in
            state.counters.openStreams += 1
            state.counters.peakOpenStreams = max(state.counters.peakOpenStreams, state.counters.openStreams)
            let onConnection = state.streamsByConnection[connection, default: 0] + 1
            state.streamsByConnection[connection] = onConnection
            state.counters.peakStreamsOnOneConnection = max(state.counters.peakStreamsOnOneConnection, onConnection)
        }
    }

    func streamClosed(on connection: Int) {
        mutable.withLock { state in
            state.counters.openStreams -= 1
            if let open = state.streamsByConnection[connection] { state.streamsByConnection[connection] = open - 1 }
        }
    }

    struct Answer {
        var status: Int
        var reason: String?
        var apnsId: String
        var retryAfter: Int?
        var body: [UInt8]
    }

    /// Checks one complete request and decides the answer, in the order APNs
    /// would: method and path, headers, provider token, topic, payload, then
    /// the script for the device token.
    func handle(headers: HPACKHeaders, body: [UInt8], connection: Int, tooLarge: Bool) -> Answer {
        let list = headers.map { APNsTestServer.Header(name: $0.name.lowercased(), value: $0.value) }
        func value(_ name: String) -> String? { list.first { $0.name == name }?.value }
        let method = value(":method") ?? ""
        let path = value(":path") ?? ""
        let prefix = "/3/device/"
        let token = path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)).lowercased() : ""
        let requestId = value("apns-id")
        let apnsId = requestId.flatMap { UUID(uuidString: $0)?.uuidString.lowercased() } ?? UUID().uuidString.lowercased()
        let bearer = value("authorization").flatMap { header -> String? in
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            return String(parts[1])
        }
        let jwt = bearer.map(APNsJWT.init)
        let json = try? JSONParser.parse(body)

        let (status, reason, retryAfter) = decide(
            list: list, method: method, path: path, token: token, requestId: requestId,
            jwt: jwt, body: body, json: json, tooLarge: tooLarge
        )

        var responseBody: [UInt8] = []
        if let reason {
            var object: JSONValue = ["reason": .string(reason)]
            if status == 410 {
                object["timestamp"] = .integer(Int64(now().timeIntervalSince1970 * 1000))
            }
            responseBody = JSONWriter.bytes(object)
        }
        let request = APNsTestServer.Request(
            method: method, path: path, deviceToken: token, headers: list, payload: body, json: json,
            jwt: bearer, jwtHeader: jwt?.header, jwtClaims: jwt?.claims,
            status: status, reason: reason, apnsId: apnsId, connection: connection, receivedAt: .now
        )
        mutable.withLock { state in
            if keepRequests { state.received.append(request) }
            state.counters.requests += 1
            if status == 200 { state.counters.delivered += 1 } else { state.counters.rejected += 1 }
        }
        return Answer(status: status, reason: reason, apnsId: apnsId, retryAfter: retryAfter, body: responseBody)
    }

    private static let singleHeaders = [
        "authorization", "apns-topic", "apns-push-type", "apns-priority", "apns-expiration",
        "apns-collapse-id", "apns-id",
    ]
    private static let pushTypes: Set<String> = [
        "alert", "background", "location", "voip", "complication", "fileprovider", "mdm",
        "liveactivity", "pushtotalk", "widgets", "controls",
    ]

    private func decide(
        list: [APNsTestServer.Header], method: String, path: String, token: String, requestId: String?,
        jwt: APNsJWT?, body: [UInt8], json: JSONValue?, tooLarge: Bool
    ) -> (Int, String?, Int?) {
        func value(_ name: String) -> String? { list.first { $0.name == name }?.value }

        guard method == "POST" else { return (405, "MethodNotAllowed", nil) }
        guard path.hasPrefix("/3/device/") else { return (404, "BadPath", nil) }
        guard !token.isEmpty else { return (400, "MissingDeviceToken", nil) }
        for name in Self.singleHeaders where list.count(where: { $0.name == name }) > 1 {
            return (400, "DuplicateHeaders", nil)
        }

        // Provider token.
        guard let jwt else { return (403, "MissingProviderToken", nil) }
        if let problem = verify(jwt) { return (403, problem, nil) }

        // Topic and headers.
        guard let topic = value("apns-topic"), !topic.isEmpty else { return (400, "MissingTopic", nil) }
        guard topic == self.topic || topic.hasPrefix(self.topic + ".") else { return (400, "TopicDisallowed", nil) }
        guard let pushType = value("apns-push-type"), Self.pushTypes.contains(pushType) else {
            return (400, "InvalidPushType", nil)
        }
        if let priority = value("apns-priority") {
            guard ["10", "5", "1"].contains(priority) else { return (400, "BadPriority", nil) }
            // Background notifications must not ask for immediate delivery.
            if pushType == "background", priority == "10" { return (400, "BadPriority", nil) }
        }
        if let expiration = value("apns-expiration") {
            guard let seconds = Int64(expiration), seconds >= 0 else { return (400, "BadExpirationDate", nil) }
        }
        if let requestId, UUID(uuidString: requestId) == nil { return (400, "BadMessageId", nil) }
        if let collapseId = value("apns-collapse-id"), collapseId.utf8.count > 64 {
            return (400, "BadCollapseId", nil)
        }
        guard token.utf8.allSatisfy({ $0.isASCIIHexDigit }) else { return (400, "BadDeviceToken", nil) }

        // Payload.
        if tooLarge || body.count > 4096 { return (413, "PayloadTooLarge", nil) }
        guard !body.isEmpty else { return (400, "PayloadEmpty", nil) }
        guard case .object? = json else { return (400, "BadPayload", nil) }

        // The script for this device.
        let scripted: APNsTestServer.Response? = mutable.withLock { state in
            guard var queue = state.scripts[token], !queue.isEmpty else { return nil }
            let next = queue.removeFirst()
            state.scripts[token] = queue
            return next
        }
        switch scripted {
        case .none, .ok?: return (200, nil, nil)
        case .status(let status, let reason, let retryAfter)?: return (status, reason, retryAfter)
        }
    }

    /// Nil when the token is good, else the APNs reason.
    private func verify(_ jwt: APNsJWT) -> String? {
        guard let header = jwt.header, let claims = jwt.claims, let signature = jwt.signature else {
            return "InvalidProviderToken"
        }
        guard header["alg"]?.stringValue == "ES256", header["kid"]?.stringValue == keyId else {
            return "InvalidProviderToken"
        }
        guard claims["iss"]?.stringValue == teamId else { return "InvalidProviderToken" }
        // A signature is checked once per token (as APNs does, per connection):
        // providers reuse one token for up to an hour, and an ECDSA verify
        // per request would make this server the bottleneck of a benchmark.
        let signed = Signed(input: jwt.signingInput, signature: signature)
        if !verifiedSignatures.withLock({ $0.contains(signed) }) {
            guard signature.count == 64,
                let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature),
                publicKey.isValidSignature(ecdsa, for: Array(jwt.signingInput.utf8))
            else { return "InvalidProviderToken" }
            verifiedSignatures.withLock { _ = $0.insert(signed) }
        }
        let issuedAt: Double
        switch claims["iat"] {
        case .integer(let value)?: issuedAt = Double(value)
        case .number(let value)?: issuedAt = value
        default: return "InvalidProviderToken"
        }
        let age = now().timeIntervalSince1970 - issuedAt
        if age > 3600 { return "ExpiredProviderToken" }
        if age < -300 { return "InvalidProviderToken" }  // issued in the future
        return nil
    }
}

/// A compact JWS split into its parts; any part that does not decode is nil.
struct APNsJWT {
    let signingInput: String
    let header: JSONValue?
    let claims: JSONValue?
    let signature: [UInt8]?

    init(_ compact: String) {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else {
            signingInput = compact
            header = nil
            claims = nil
            signature = nil
            return
        }
        signingInput = parts[0] + "." + parts[1]
        header = Self.decode(parts[0]).flatMap { try? JSONParser.parse($0) }
        claims = Self.decode(parts[1]).flatMap { try? JSONParser.parse($0) }
        signature = Self.decode(parts[2])
    }

    static func decode(_ base64url: String) -> [UInt8]? {
        var text = base64url.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text).map { Array($0) }
    }
}

extension UInt8 {
    fileprivate var isASCIIHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
            || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}

// MARK: - Stream handler

/// One HTTP/2 stream: collects the request, then writes the answer.
final class APNsStreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// Bodies above this are not kept; APNs' own limit is 4096 (5120 for VoIP).
    private static let bodyLimit = 64 * 1024

    private let state: APNsServerState
    private let connection: Int
    private var headers: HPACKHeaders?
    private var body: [UInt8] = []
    private var tooLarge = false
    private var answered = false

    init(state: APNsServerState, connection: Int) {
        self.state = state
        self.connection = connection
    }

    func handlerAdded(context: ChannelHandlerContext) {
        state.streamOpened(on: connection)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        state.streamClosed(on: connection)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let frame):
            if headers == nil { headers = frame.headers }
            if frame.endStream { answer(context: context) }
        case .data(let frame):
            if case .byteBuffer(let buffer) = frame.data {
                if body.count + buffer.readableBytes > Self.bodyLimit {
                    tooLarge = true
                } else {
                    body.append(contentsOf: buffer.readableBytesView)
                }
            }
            if frame.endStream { answer(context: context) }
        default:
            break
        }
    }

    private func answer(context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        let answer = state.handle(headers: headers ?? HPACKHeaders(), body: body, connection: connection, tooLarge: tooLarge)
        var responseHeaders = HPACKHeaders()
        responseHeaders.add(name: ":status", value: String(answer.status))
        responseHeaders.add(name: "apns-id", value: answer.apnsId)
        if let retryAfter = answer.retryAfter {
            responseHeaders.add(name: "retry-after", value: String(retryAfter))
        }
        if !answer.body.isEmpty {
            responseHeaders.add(name: "content-type", value: "application/json; charset=utf-8")
            responseHeaders.add(name: "content-length", value: String(answer.body.count))
        }
        let write = {
            context.write(
                self.wrapOutboundOut(.headers(.init(headers: responseHeaders, endStream: answer.body.isEmpty))),
                promise: nil
            )
            if !answer.body.isEmpty {
                let buffer = context.channel.allocator.buffer(bytes: answer.body)
                context.write(self.wrapOutboundOut(.data(.init(data: .byteBuffer(buffer), endStream: true))), promise: nil)
            }
            context.flush()
        }
        if state.responseDelay > .zero {
            context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(state.responseDelay)) { write() }
        } else {
            write()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
