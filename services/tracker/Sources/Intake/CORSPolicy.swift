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
            exposedHeaders: Self.exposedHeaders,
            maxAge: .seconds(maxAge.components.seconds))
    }

    /// What a page's script may read of an answer: analytics.js reads
    /// X-RateLimit-Reset on a 429.
    static let exposedHeaders = ["Retry-After", "X-RateLimit-Reset"]
    private static let exposed = exposedHeaders.joined(separator: ", ")

    /// The headers the intake's own answers carry for a request with an
    /// Origin, as the middleware puts them on the router's.
    func decorate(_ response: inout IntakeResponse, origin: String?) {
        guard let origin else { return }
        response.headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: origin)
        if allowCredentials { response.headers.replaceOrAdd(name: "Access-Control-Allow-Credentials", value: "true") }
        response.headers.replaceOrAdd(name: "Access-Control-Expose-Headers", value: Self.exposed)
        response.headers.replaceOrAdd(name: "Vary", value: "Origin")
    }

    /// Any origin, no credentials: what a tracker without settings does.
    static let open = CORSPolicy(origins: AllowedOrigins([:]), allowCredentials: false, maxAge: .seconds(86_400))
}
