import BeaconCore

/// What became of one push request, as reported on `beacon.push.feedback`.
struct PushOutcome: Sendable, Equatable {
    enum Status: String, Sendable {
        case delivered
        /// APNs or FCM declared the token dead; the device is removed.
        case invalidToken = "invalid_token"
        /// Retried as often as the policy allows, still failing.
        case retryExhausted = "retry_exhausted"
        /// Refused for good (a bad payload, a wrong topic, credentials refused).
        case failed
        /// Dry run: validated and recorded, not sent.
        case dryRun = "dry_run"
        /// The request itself could not be read or built.
        case invalidRequest = "invalid_request"
        /// No credentials for the request's app and platform.
        case noCredentials = "no_credentials"
    }

    var status: Status
    var reason: String?
    var attempts: Int
    var latency: Duration

    func feedback(for request: PushRequest?, raw: JSONValue?) -> JSONValue {
        var object: JSONObject = [:]
        object["requestId"] = (request?.requestId ?? raw?["requestId"]?.stringValue).map(JSONValue.string) ?? .null
        object["app"] = (request?.app ?? raw?["app"]?.stringValue).map(JSONValue.string) ?? .null
        object["platform"] = (request?.platform.rawValue ?? raw?["platform"]?.stringValue).map(JSONValue.string) ?? .null
        object["token"] = (request?.token ?? raw?["token"]?.stringValue).map(JSONValue.string) ?? .null
        object["status"] = .string(status.rawValue)
        object["reason"] = reason.map(JSONValue.string) ?? .null
        object["attempts"] = .integer(Int64(attempts))
        let (seconds, attoseconds) = latency.components
        object["latencyMs"] = .number(((Double(seconds) * 1000 + Double(attoseconds) / 1e15) * 10).rounded() / 10)
        if let rule = request?.rule { object["rule"] = .string(rule) }
        if let source = request?.sourceMessageId { object["sourceMessageId"] = .string(source) }
        object["at"] = .string(Timestamp.iso8601(.now))
        return .object(object)
    }
}
