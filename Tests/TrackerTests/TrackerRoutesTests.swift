import BeaconCore
import BeaconRedis
import BeaconTestSupport
import CompressNIO
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
@testable import TrackerService

/// The tracker's HTTP server in process, on a real socket (HummingbirdTesting's
/// live framework, so the intake's channel handler is in the pipeline), for
/// every answer that needs no Redis: refusals and the operational routes.
@Suite struct TrackerRoutesTests {
    static func application() throws -> some ApplicationProtocol {
        let context = ServiceContext(name: "tracker", logger: Logger(label: "test"))
        let metrics = TrackerMetrics(apps: ["shop"])
        let queue = EventQueue<WriteRequest>(capacity: 100)
        let writer = StreamWriter(
            settings: .init(redisURL: try RedisURL("redis://127.0.0.1:1"), stream: "s", overflowStream: "s:overflow", maxStreamLength: 10,
                            maxPipelineEvents: 10, eventsPerEntry: 100, connectTimeout: .milliseconds(100)),
            queue: queue, context: context, metrics: metrics)
        let intake = EventIntake(
            writeKeys: try WriteKeys(entries: ["key1:shop"]),
            reader: PayloadReader(limits: IntakeLimits(maxEventBytes: 200, maxRequestBytes: 1_000, maxBatchEvents: 3)),
            clientAddress: ClientAddress(trustedProxies: []),
            admission: EventAdmission(limits: [:], trackedUsers: 10, metrics: metrics),
            submitter: EventSubmitter(queue: queue, writer: writer, ackTimeout: .milliseconds(100)), metrics: metrics)
        return Application(
            router: Tracker.makeRouter(readiness: context.readiness), server: Tracker.server(
                intake: intake, cors: .open,
                connections: ConnectionBounds(maxConnections: 100, timeouts: .init(head: .seconds(10), body: .seconds(10), idle: .seconds(10)))),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    static let json: HTTPFields = [.contentType: "application/json", .authorization: "Basic " + Data("key1:".utf8).base64EncodedString()]

    func error(_ response: TestResponse) -> (code: String?, message: String?) {
        guard let body = try? JSONParser.parse(response.body.readableBytesView) else {
            Issue.record("not JSON: \(String(buffer: response.body))")
            return (nil, nil)
        }
        #expect(body["success"] == false)
        return (body["error"]?["code"]?.stringValue, body["error"]?["message"]?.stringValue)
    }

    @Test func operationalRoutes() async throws {
        try await Self.application().test(.live) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                // The writer never ran: Redis is named as what is missing.
                #expect(response.status == .serviceUnavailable)
                let body = try JSONParser.parse(response.body.readableBytesView)
                #expect(body["ready"] == false)
                #expect(body["failing"]?["redis"] == "not connected yet")
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            }
        }
    }

    /// A browser's preflight for /v1/b (Authorization, X-Retry-Count) is
    /// answered before routing, and refusals carry the CORS header too.
    @Test func preflightsAreAnsweredAndEveryAnswerCarriesTheOrigin() async throws {
        try await Self.application().test(.live) { client in
            let origin = "https://shop.example.com"
            try await client.execute(
                uri: "/v1/b", method: .options,
                headers: [.origin: origin, .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "authorization,content-type,x-retry-count"]
            ) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == origin)
                let allowed = (response.headers[.accessControlAllowHeaders] ?? "").lowercased()
                for header in ["authorization", "content-type", "x-retry-count"] {
                    #expect(allowed.contains(header), "\(header) in \(allowed)")
                }
                #expect(response.headers[.accessControlAllowMethods]?.contains("POST") == true)
                #expect(response.headers[.accessControlMaxAge] == "86400")
                #expect(response.headers[.accessControlAllowCredentials] == nil)
            }
            var headers = Self.json
            headers[.origin] = origin
            headers[.authorization] = "Basic " + Data("wrong:".utf8).base64EncodedString()
            try await client.execute(uri: "/v1/t", method: .post, headers: headers, body: ByteBuffer(string: #"{"event":"E","userId":"u"}"#)) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.accessControlAllowOrigin] == origin)
                #expect(error(response).code == "unauthorized")
            }
            try await client.execute(uri: "/v1/nothing", method: .post, headers: [.origin: origin]) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.accessControlAllowOrigin] == origin)
            }
        }
    }

    /// A gzip or deflate body is inflated no further than the request limit
    /// (1,000 bytes here): a zip bomb gets 413, a corrupt body 400, an
    /// unknown encoding 415, each as JSON.
    @Test func compressedBodiesAreInflatedWithinTheLimit() async throws {
        try await Self.application().test(.live) { client in
            var bomb = ByteBuffer(repeating: UInt8(ascii: " "), count: 400_000)
            bomb.writeString(#"{"event":"E","userId":"u"}"#)
            let compressedBomb = try bomb.compress(with: .gzip())
            #expect(compressedBomb.readableBytes < 1_000, "the compressed bomb fits the request limit")
            var headers = Self.json
            headers[.contentEncoding] = "gzip"
            try await client.execute(uri: "/v1/track", method: .post, headers: headers, body: compressedBomb) { response in
                #expect(response.status == .contentTooLarge)
                #expect(error(response).message == "the gzip body inflates to more than 1000 bytes")
            }
            try await client.execute(uri: "/v1/track", method: .post, headers: headers, body: ByteBuffer(string: "not gzip at all")) { response in
                #expect(response.status == .badRequest)
                #expect(error(response).code == "invalid_body")
            }
            headers[.contentEncoding] = "br"
            try await client.execute(uri: "/v1/track", method: .post, headers: headers, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .unsupportedMediaType)
                #expect(error(response).message?.contains("Content-Encoding br") == true)
            }
            // A well-formed small deflate body gets as far as the write key check.
            var small = ByteBuffer(string: #"{"event":"E","userId":"u"}"#)
            headers[.contentEncoding] = "deflate"
            headers[.authorization] = "Basic " + Data("wrong:".utf8).base64EncodedString()
            try await client.execute(uri: "/v1/track", method: .post, headers: headers, body: try small.compress(with: .zlib())) { response in
                #expect(response.status == .unauthorized, "inflated and parsed, then refused for its key")
            }
        }
    }

    @Test func allowedOriginsArePerAppAndNormalised() {
        let origins = AllowedOrigins(["shop": ["https://Shop.example.com/"], "blog": ["*"]])
        #expect(origins.allows("https://shop.example.com", app: "shop"))
        #expect(!origins.allows("https://shop.example.com.evil.net", app: "shop"))
        #expect(!origins.allows("http://shop.example.com", app: "shop"))
        #expect(origins.allows("https://anything.test", app: "blog"))
        #expect(origins.allows("https://anything.test", app: "unconfigured"))
        #expect(origins.allows(nil, app: "shop"), "a request without Origin is no browser's")
    }

    @Test func refusalsAreJSONWithTheirStatusAndCode() async throws {
        try await Self.application().test(.live) { client in
            try await client.execute(uri: "/v1/track", method: .post, headers: [.contentType: "text/xml"], body: ByteBuffer(string: "<x/>")) {
                #expect($0.status == .unsupportedMediaType)
                #expect(error($0).code == "unsupported_media_type")
            }
            try await client.execute(uri: "/v1/track", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"event":"E"}"#)) {
                #expect($0.status == .unauthorized)
                #expect(error($0).message?.contains("no write key") == true)
            }
            try await client.execute(uri: "/v1/track", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"writeKey":"nope","event":"E"}"#)) {
                #expect($0.status == .unauthorized)
                #expect(error($0).message == "unknown write key")
            }
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.json, body: ByteBuffer(string: #"{"event": "#)) {
                #expect($0.status == .badRequest)
                #expect(error($0).code == "invalid_json")
            }
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.json, body: ByteBuffer(string: "[1,2]")) {
                #expect($0.status == .badRequest)
                #expect(error($0).message == "the body must be a JSON object")
            }
            let big = #"{"event":"E","properties":{"x":""# + String(repeating: "a", count: 300) + #""}}"#
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.json, body: ByteBuffer(string: big)) {
                #expect($0.status == .contentTooLarge)
                #expect(error($0).code == "too_large")
            }
            try await client.execute(uri: "/v1/batch", method: .post, headers: Self.json, body: ByteBuffer(string: String(repeating: " ", count: 2_000))) {
                #expect($0.status == .contentTooLarge)
            }
            try await client.execute(uri: "/v1/batch", method: .post, headers: Self.json, body: ByteBuffer(string: #"{"batch":{}}"#)) {
                #expect($0.status == .badRequest)
                #expect(error($0).message?.contains("\"batch\" array") == true)
            }
            try await client.execute(uri: "/v1/batch", method: .post, headers: Self.json,
                                     body: ByteBuffer(string: #"{"batch":[{},{},{},{}]}"#)) {
                #expect($0.status == .contentTooLarge)
                #expect(error($0).message == "batch has 4 events; the limit is 3")
            }
            try await client.execute(uri: "/v1/batch", method: .post, headers: Self.json, body: ByteBuffer(string: #"{"batch":[1,"x"]}"#)) {
                #expect($0.status == .badRequest)
                #expect(error($0).message == "no event in the batch was acceptable")
            }
            try await client.execute(uri: "/t/Opened", method: .get) {
                #expect($0.status == .unauthorized)
                #expect(error($0).message?.contains("wk=KEY") == true)
            }
            try await client.execute(uri: "/v1/nothing", method: .post, headers: Self.json, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .notFound)
            }
        }
    }
}
