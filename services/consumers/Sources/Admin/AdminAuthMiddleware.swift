import Hummingbird
import Metrics

/// In front of every admin route: a request without a configured bearer
/// token gets 401; with no token configured at all, every request gets 503
/// (the routes are never open by mistake).
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: AdminTokens
    private let unauthorized = Counter(label: "beacon_consumers_admin_unauthorized_total")

    init(tokens: AdminTokens) {
        self.tokens = tokens
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !tokens.isEmpty else {
            return AdminJSON.error(
                .serviceUnavailable, code: "admin_disabled",
                "no admin token is configured: set consumers.adminTokens (BEACON_CONSUMERS_ADMIN_TOKENS, comma-separated) "
                    + "or consumers.adminTokensFile (one token a line, e.g. a mounted secret)")
        }
        guard tokens.accepts(authorization: request.headers[.authorization]) else {
            unauthorized.increment()
            let missing = request.headers[.authorization] == nil
            return AdminJSON.error(
                .unauthorized, code: "unauthorized",
                missing ? "an admin token is required: Authorization: Bearer <token>" : "the admin token is not valid",
                headers: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }
}
