import BeaconCore
import Hummingbird
import HummingbirdTesting
import Testing
@testable import LiveViewService

/// The live view's HTTP routes in process: the page and its files (the
/// resource files of the target), the token, and a refused upgrade.
@Suite struct LiveViewRoutesTests {
    static func application() throws -> some ApplicationProtocol {
        Application(router: LiveView.makeRouter(
            token: AccessToken("s3cret"), assets: try PageAssets(), metrics: LiveViewMetrics(), readiness: Readiness()))
    }

    @Test func thePageNeedsTheToken() async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("a valid token is required"))
            }
            try await client.execute(uri: "/?token=wrong", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/?token=s3cret", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let html = String(buffer: response.body)
                #expect(html.contains(#"<link rel="stylesheet" href="/assets/liveview.css">"#))
                #expect(html.contains(#"<script src="/assets/liveview.js"></script>"#))
            }
            try await client.execute(uri: "/", method: .get, headers: [.authorization: "Bearer s3cret"]) { #expect($0.status == .ok) }
        }
    }

    @Test func theStyleSheetAndScriptAreServedFromTheResourceFiles() async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/assets/liveview.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(String(buffer: response.body).contains("new WebSocket"))
            }
            try await client.execute(uri: "/assets/liveview.css", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/css; charset=utf-8")
                #expect(String(buffer: response.body).contains(".event-row"))
            }
            try await client.execute(uri: "/assets/secrets.txt", method: .get) { #expect($0.status == .notFound) }
        }
    }

    @Test func aPlainGetOfTheWebSocketPathIsRefused() async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/ws?token=s3cret", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("expected a WebSocket upgrade"))
            }
            try await client.execute(uri: "/ws", method: .get) { #expect($0.status == .unauthorized) }
        }
    }
}
