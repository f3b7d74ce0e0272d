import BeaconCore
import Hummingbird
import NIOCore

/// The admin routes' JSON answers, and their one error shape:
/// `{"error":{"code":"unauthorized","message":"…"}}`.
enum AdminJSON {
    static func response(_ status: HTTPResponse.Status, _ value: JSONValue, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(value))))
    }

    static func error(_ status: HTTPResponse.Status, code: String, _ message: String, headers: HTTPFields = [:]) -> Response {
        response(status, ["error": ["code": .string(code), "message": .string(message)]], headers: headers)
    }
}

extension WebhookAttempt {
    /// As the admin API shows it: the field names of the type, dates ISO 8601, absent values null.
    var json: JSONValue {
        [
            "requestId": .string(requestId), "app": .string(app), "source": .string(source), "sourceName": .string(sourceName),
            "method": .string(method), "url": .string(url), "host": .string(host), "attempt": .integer(Int64(attempt)),
            "outcome": .string(outcome.rawValue), "isError": .bool(isError), "status": status.map { .integer(Int64($0)) } ?? .null,
            "latencyMs": latencyMs.map(JSONValue.number) ?? .null, "responseBody": responseBody.map(JSONValue.string) ?? .null,
            "error": error.map(JSONValue.string) ?? .null, "at": .string(Timestamp.iso8601(at)),
            "nextAttemptAt": nextAttemptAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
        ]
    }
}
