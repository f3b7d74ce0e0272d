import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A partner's webhook endpoint on 127.0.0.1, for the delivery worker's
/// tests. It records every call and answers by path:
/// - `/ok/*`: 200;
/// - `/fail/<n>/*`: 500 for the first n calls of that path, then 200;
/// - `/gone/*`: 410;
/// - `/limited/*`: 429 with `Retry-After: 2` for the first call, then 200;
/// - `/slow/*`: 200 after 12 s, past any call limit the tests set;
/// - `/endless/*`: 200 with a body that never ends;
/// - `/redirect/*`: 302 to `/ok/redirected`;
/// - `/flaky/*`: 503 while `down` is set, else 200.
public final class WebhookTestServer: Sendable {
    public struct Call: Sendable {
        public let path: String
        public let method: String
        public let headers: [String: String]
        public let body: String
        public let at: Date
    }

    /// The port the server bound (it asks the kernel for a free one).
    public var port: Int { state.port.withLock { $0 } ?? 0 }
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    private final class State: Sendable {
        let calls = Mutex<[Call]>([])
        let isDown = Mutex(false)
        let port = Mutex<Int?>(nil)
    }

    private let state = State()
    private let group: ServiceGroup
    private let task: Task<Void, Never>

    public static func start() async throws -> WebhookTestServer {
        let server = WebhookTestServer()
        // Generous: on a loaded machine (the whole suite in parallel) start-up can take long.
        try await Await.condition("the webhook test server to listen", timeout: .seconds(60)) { server.port != 0 }
        return server
    }

    private init() {
        let state = self.state
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            let path = request.uri.path
            if path == "/healthz" { return Response(status: .ok) }
            let body = (try? await request.body.collect(upTo: 10 * 1024 * 1024)).map { String(buffer: $0) } ?? ""
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            // HTTPTypes keeps HTTP/1's Host as the authority.
            if let authority = request.head.authority { headers["host"] = authority }
            let count = state.calls.withLock { list in
                list.append(Call(path: path, method: request.method.rawValue, headers: headers, body: body, at: Date()))
                return list.filter { $0.path == path }.count
            }
            let parts = path.split(separator: "/").map(String.init)
            switch parts.first {
            case "fail":
                let failures = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
                return Response(status: count <= failures ? .internalServerError : .ok)
            case "gone": return Response(status: .gone)
            case "limited":
                return count == 1 ? Response(status: .tooManyRequests, headers: [.retryAfter: "2"]) : Response(status: .ok)
            case "slow":
                try? await Task.sleep(for: .seconds(12))
                return Response(status: .ok)
            case "endless":
                return Response(status: .ok, body: ResponseBody { writer in
                    let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 16_384)
                    for _ in 0..<100_000 { try await writer.write(chunk) }
                    try await writer.finish(nil)
                })
            case "redirect": return Response(status: .found, headers: [.location: "/ok/redirected"])
            case "flaky": return Response(status: state.isDown.withLock { $0 } ? .serviceUnavailable : .ok)
            default: return Response(status: .ok)
            }
        }
        var logger = Logger(label: "WebhookTestServer")
        logger.logLevel = .error
        let app = Application(
            responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "WebhookTestServer"),
            onServerRunning: { channel in state.port.withLock { $0 = channel.localAddress?.port } }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        self.group = group
        task = Task { try? await group.run() }
    }

    /// Every call so far, oldest first.
    public var received: [Call] { state.calls.withLock { $0 } }

    public func calls(to path: String) -> [Call] { received.filter { $0.path == path } }

    public func calls(under prefix: String) -> [Call] { received.filter { $0.path.hasPrefix(prefix) } }

    /// `/flaky/*` answers 503 while down.
    public func setDown(_ down: Bool) { state.isDown.withLock { $0 = down } }

    public func stop() async {
        await group.triggerGracefulShutdown()
        await task.value
    }
}
