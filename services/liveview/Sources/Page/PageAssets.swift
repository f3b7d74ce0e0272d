import Foundation
import Hummingbird
import NIOCore

/// The live view's browser page, as files in `Page/Assets/` shipped as the
/// target's resources: `index.html`, `liveview.css` and `liveview.js`, read
/// once at start-up. Nothing is fetched from elsewhere.
///
/// The page reads `?token=` from its own URL and connects to `ws(s)://<host>/ws?token=<token>`.
/// Protocol (JSON text frames):
/// - server → page: `hello {topics, topic}`, `event {topic, partition, offset, timestamp, key, value}`,
///   `stats {rate, matchedRate, dropped}` (once a second), `dropped {count}`, `error {message}`.
/// - page → server: `subscribe {topic, filters: {eventType?, event?, app?, country?, text?}}` on every
///   hello, Apply and topic change; `pause`; `resume`.
///
/// Every row is `<div class="event-row" data-message-id="<value.messageId>">` (for
/// `beacon.events.invalid`, the messageId of `value.payload`), newest first, at most 500.
/// Topic and filters are mirrored into the page URL, so a reload or a shared link keeps them
/// (`?token=…&topic=…&type=track&event=…&app=…&country=DE&q=…`).
struct PageAssets: Sendable {
    struct Asset: Sendable {
        let contentType: String
        let bytes: ByteBuffer
    }

    /// The page, served at `/` behind the token.
    let page: Asset
    /// Its style sheet and script, served at `/assets/<name>` (code, no data: no token needed).
    let files: [String: Asset]

    static let types = ["html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"]

    init(directory: URL? = Bundle.module.url(forResource: "Assets", withExtension: nil)) throws {
        guard let directory else { throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "the live view's Assets resource is missing"]) }
        func load(_ name: String) throws -> Asset {
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            let type = Self.types[(name as NSString).pathExtension] ?? "application/octet-stream"
            return Asset(contentType: type, bytes: ByteBuffer(bytes: data))
        }
        page = try load("index.html")
        files = ["liveview.css": try load("liveview.css"), "liveview.js": try load("liveview.js")]
    }

    func response(_ asset: Asset) -> Response {
        Response(
            status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "no-store"],
            body: .init(byteBuffer: asset.bytes))
    }
}
