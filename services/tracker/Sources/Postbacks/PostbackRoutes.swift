import BeaconCore
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /v1/postback` on the tracker's router: a job (one endpoint, many
/// data objects) becomes one webhook request per object on the webhook
/// stream, for the delivery worker; 202 only once Redis has them all.
/// Each answer is counted in `beacon_tracker_postback_requests_total{outcome}`.
struct PostbackRoutes: Sendable {
    let settings: PostbackSettings
    let requests: RouterRequests
    let writer: PostbackWriter
    let metrics: TrackerMetrics

    func add(to router: Router<BasicRequestContext>) {
        router.post("/v1/postback") { request, _ in await answer(request) }
    }

    private func answer(_ request: Request) async -> Response {
        let status: HTTPResponse.Status, body: JSONValue, outcome: String
        do throws(PostbackError) {
            (status, body) = try await accept(request)
            outcome = "accepted"
        } catch {
            (status, body, outcome) = (error.status, error.json, error.code)
        }
        metrics.postbackRequest(outcome: outcome)
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .serviceUnavailable { headers[.retryAfter] = "1" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(body))))
    }

    private func accept(_ request: Request) async throws(PostbackError) -> (HTTPResponse.Status, JSONValue) {
        let payload = try await body(request)
        let app = try app(request, payload)
        let hosts = settings.hosts(for: app)
        guard !hosts.isEmpty else { throw .disabled(app: app) }
        let job = try PostbackJob(payload, maxObjects: settings.maxObjects)
        guard hosts.allows(job.url.host) else { throw .hostNotAllowed(job.url.host, app: app) }
        let jobId = MessageId.random()
        let requests = job.requests(app: app, jobId: jobId, createdAt: Timestamp.iso8601(Date()))
        switch await writer.write(requests) {
        case .stored: break
        case .unavailable(let reason): throw .unavailable(reason)
        }
        metrics.postbackObjects(app: app, count: requests.count)
        return (.accepted, .object(JSONObject(pairs: [
            ("success", .bool(true)), ("jobId", .string(jobId)), ("requestIds", .array(requests.map { .string($0.id) })),
        ])))
    }

    private func body(_ request: Request) async throws(PostbackError) -> JSONObject {
        do throws(RouterRequests.Refusal) {
            return try await requests.body(request, limit: settings.maxBodyBytes, maxDepth: 32)
        } catch {
            throw PostbackError(error)
        }
    }

    private func app(_ request: Request, _ payload: JSONObject) throws(PostbackError) -> String {
        do throws(RouterRequests.Refusal) {
            return try requests.app(request, payload)
        } catch {
            throw PostbackError(error)
        }
    }
}
