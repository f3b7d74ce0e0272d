import HTTPTypes
import Hummingbird

/// What browsers are told: every answer to a request with an Origin carries
/// Access-Control-Allow-Origin (errors too, so the SDK sees the status and
/// not a network error), and preflights are answered for the headers
/// analytics.js sends (`Authorization` and `X-Retry-Count` on `/v1/b`).
/// Which origin may send for which app is `AllowedOrigins`' call, made once
/// the write key names the app.
struct CORSPolicy: Sendable {
    static let retryCount = HTTPField.Name("X-Retry-Count")!

    let origins: AllowedOrigins
    /// Access-Control-Allow-Credentials: for pages that send cookies or use
    /// `credentials: "include"`.
    let allowCredentials: Bool
    /// How long a browser may keep a preflight's answer.
    let maxAge: Duration

    func middleware<Context: RequestContext>(for context: Context.Type = Context.self) -> CORSMiddleware<Context> {
        CORSMiddleware(
            allowOrigin: .originBased,
            allowHeaders: [.accept, .authorization, .contentType, .contentEncoding, .origin, Self.retryCount],
            allowMethods: [.get, .post, .options],
            allowCredentials: allowCredentials,
            exposedHeaders: ["Retry-After"],
            maxAge: .seconds(maxAge.components.seconds))
    }

    /// Any origin, no credentials: what a tracker without settings does.
    static let open = CORSPolicy(origins: AllowedOrigins([:]), allowCredentials: false, maxAge: .seconds(86_400))
}
