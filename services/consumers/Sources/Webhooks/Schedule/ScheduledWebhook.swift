import BeaconCore
import Foundation

/// A webhook request as the retry schedule holds it: the request and what
/// its attempts so far gave. This whole history goes with it to
/// `beacon.webhooks.failed` after the last attempt.
struct ScheduledWebhook: Sendable, Equatable {
    struct Attempt: Sendable, Equatable {
        let number: Int
        /// Unix milliseconds.
        let at: Int64
        let status: Int?
        let error: String?
        let latencyMs: Double?
    }

    var request: WebhookRequest
    var attempts: [Attempt] = []
    /// Unix milliseconds of the first attempt; nil before it.
    var firstAttemptAt: Int64?

    init(request: WebhookRequest) {
        self.request = request
    }

    var json: JSONValue {
        var object = JSONObject(pairs: [("request", request.json)])
        object["attempts"] = .array(attempts.map { attempt in
            var entry = JSONObject(pairs: [("attempt", .integer(Int64(attempt.number))), ("at", .integer(attempt.at))])
            if let status = attempt.status { entry["status"] = .integer(Int64(status)) }
            if let error = attempt.error { entry["error"] = .string(error) }
            if let latency = attempt.latencyMs { entry["latencyMs"] = .number(latency) }
            return .object(entry)
        })
        if let firstAttemptAt { object["firstAttemptAt"] = .integer(firstAttemptAt) }
        return .object(object)
    }

    var bytes: [UInt8] { JSONWriter.bytes(json) }

    init(json: JSONValue) throws(ServiceError) {
        guard let request = json["request"] else { throw .permanent("a scheduled webhook has no request") }
        self.request = try WebhookRequest(json: request)
        if case .array(let entries)? = json["attempts"] {
            attempts = entries.map { entry in
                Attempt(
                    number: entry["attempt"]?.doubleValue.map { Int($0) } ?? 0, at: entry["at"]?.doubleValue.map { Int64($0) } ?? 0,
                    status: entry["status"]?.doubleValue.map { Int($0) }, error: entry["error"]?.stringValue,
                    latencyMs: entry["latencyMs"]?.doubleValue)
            }
        }
        firstAttemptAt = json["firstAttemptAt"]?.doubleValue.map { Int64($0) }
    }

    init(bytes: [UInt8]) throws(ServiceError) {
        guard let json = try? JSONParser.parse(bytes) else { throw .permanent("a scheduled webhook is not JSON") }
        try self.init(json: json)
    }
}
