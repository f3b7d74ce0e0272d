import BeaconCore
import Hummingbird

/// The consumers' admin API, every route behind `AdminAuthMiddleware`:
/// `GET /stats` (the counters), `GET /requests` (every webhook attempt, newest
/// first), `GET /errors` (those not delivered) and `GET /webhooks/{id}`
/// (one request's attempts, oldest first), and `POST /replay` (parked work
/// re-enqueued, as `beacon-consumers replay` does).
enum AdminRoutes {
    typealias Replay = @Sendable (FailedReplay.Source, ReplayFilter, Bool) throws -> FailedReplay.Outcome

    static func add(to router: Router<BasicRequestContext>, tokens: AdminTokens, stats: StatsQuery, log: WebhookAttemptLog?, replay: @escaping Replay) {
        let admin = router.group().add(middleware: AdminAuthMiddleware(tokens: tokens))
        StatsRoute.add(to: admin, query: stats)
        admin.get("/requests") { request, _ in await page(request, errorsOnly: false, log: log) }
        admin.get("/errors") { request, _ in await page(request, errorsOnly: true, log: log) }
        admin.post("/replay") { request, _ in await replayRoute(request, replay) }
        admin.get("/webhooks/{id}") { _, context -> Response in
            guard let log else { return logUnavailable }
            let id = try context.parameters.require("id")
            do {
                let attempts = try await BlockingWork.run { try log.history(requestId: id) }
                guard !attempts.isEmpty else {
                    return AdminJSON.error(.notFound, code: "not_found", "no attempt of webhook request \(id) in the log")
                }
                return AdminJSON.response(.ok, ["id": .string(id), "attempts": .array(attempts.map(\.json))])
            } catch {
                return logFailed(error)
            }
        }
    }

    /// `POST /replay?from=webhooks|events&app=&rule=&host=&consumer=&since=&until=&dryRun=true`.
    private static func replayRoute(_ request: Request, _ replay: @escaping Replay) async -> Response {
        let parameters = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        let from = parameters.first { $0.0 == "from" }?.1 ?? "webhooks"
        guard let source = FailedReplay.Source(rawValue: from) else {
            return AdminJSON.error(.badRequest, code: "bad_request", "from must be webhooks or events, not \(from)")
        }
        let dryRunText = parameters.first { $0.0 == "dryRun" }?.1 ?? "false"
        guard let dryRun = Bool(dryRunText) else { return AdminJSON.error(.badRequest, code: "bad_request", "dryRun must be true or false") }
        let filter: ReplayFilter
        do {
            filter = try ReplayFilter(parameters: parameters)
        } catch {
            return AdminJSON.error(.badRequest, code: "bad_request", error.message)
        }
        do {
            let outcome = try await BlockingWork.run { try replay(source, filter, dryRun) }
            var json = outcome.json.objectValue ?? JSONObject()
            json["from"] = .string(source.rawValue)
            json["dryRun"] = .bool(dryRun)
            return AdminJSON.response(.ok, .object(json))
        } catch {
            return AdminJSON.error(.serviceUnavailable, code: "replay_failed", "\(error)")
        }
    }

    private static func page(_ request: Request, errorsOnly: Bool, log: WebhookAttemptLog?) async -> Response {
        guard let log else { return logUnavailable }
        let query: WebhookLogQuery
        do {
            query = try WebhookLogQuery(parameters: request.uri.queryParameters.map { (String($0.key), String($0.value)) }, errorsOnly: errorsOnly)
        } catch {
            return AdminJSON.error(.badRequest, code: "bad_request", error.message)
        }
        do {
            let page = try await BlockingWork.run { try log.query(query) }
            return AdminJSON.response(.ok, ["attempts": .array(page.attempts.map(\.json)), "next": page.next.map { .string($0.text) } ?? .null])
        } catch {
            return logFailed(error)
        }
    }

    private static var logUnavailable: Response {
        AdminJSON.error(
            .serviceUnavailable, code: "log_unavailable",
            "this process keeps no webhook delivery log: it is kept where a consumer that uses MongoDB runs (consumers.enabled)")
    }

    private static func logFailed(_ error: any Error) -> Response {
        AdminJSON.error(.serviceUnavailable, code: "log_unavailable", "the webhook log cannot be read: \(error)")
    }
}
