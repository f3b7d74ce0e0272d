import BeaconCore
import Hummingbird
import NIOCore

/// `GET /stats?app=demo&from=2026-11-22T10:00:00Z&to=…` on the consumers'
/// HTTP port: per-minute counts by event name and country, and totals.
/// An admin route (see AdminRoutes).
enum StatsRoute {
    static func add(to router: some RouterMethods<BasicRequestContext>, query: StatsQuery) {
        router.get("/stats") { request, _ -> Response in
            let parameters = request.uri.queryParameters
            let app = parameters["app"].map(String.init), from = parameters["from"].map(String.init), to = parameters["to"].map(String.init)
            do {
                // Thousands of HGETALLs through hiredis: off the cooperative pool.
                let answer = try await BlockingWork.run { try query.answer(app: app, from: from, to: to) }
                return json(.ok, answer)
            } catch let error as StatsQuery.Invalid {
                return json(.badRequest, ["error": .string(error.message)])
            } catch {
                return json(.serviceUnavailable, ["error": .string("counters unavailable: \(error)")])
            }
        }
    }

    private static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(value))))
    }
}
