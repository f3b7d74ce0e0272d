import BeaconCore

/// Checks an event against the Segment spec for its type. What fails goes to
/// `beacon.events.invalid` with the returned reason, never silently away.
struct EventValidator: Sendable {
    struct Failure: Error, Equatable {
        let reason: String
    }

    func validate(_ event: JSONObject) throws(Failure) -> EventType {
        guard let typeText = event["type"]?.stringValue else {
            throw Failure(reason: event["type"] == nil ? "missing \"type\"" : "\"type\" must be a string")
        }
        guard let type = EventType(rawValue: typeText) else {
            throw Failure(reason: "unknown type \"\(typeText)\" (expected track, identify, page, screen, group or alias)")
        }
        try requireString(event, "messageId")
        try optionalString(event, "userId")
        try optionalString(event, "anonymousId")
        if type != .alias, nonEmptyString(event, "userId") == nil, nonEmptyString(event, "anonymousId") == nil {
            throw Failure(reason: "\(type.rawValue) needs a userId or an anonymousId")
        }
        try optionalObject(event, "context")
        try optionalObject(event, "integrations")
        for field in ["timestamp", "sentAt", "originalTimestamp"] {
            if let value = event[field] {
                guard let text = value.stringValue, Timestamp.parse(text) != nil else {
                    throw Failure(reason: "\"\(field)\" must be an ISO-8601 timestamp")
                }
            }
        }
        switch type {
        case .track:
            guard nonEmptyString(event, "event") != nil else { throw Failure(reason: "track needs a non-empty \"event\" name") }
            try optionalObject(event, "properties")
        case .identify:
            try optionalObject(event, "traits")
        case .page, .screen:
            try optionalString(event, "name")
            try optionalString(event, "category")
            try optionalObject(event, "properties")
        case .group:
            guard let groupId = event["groupId"], groupId.stringValue?.isEmpty == false || groupId.doubleValue != nil else {
                throw Failure(reason: "group needs a \"groupId\"")
            }
            try optionalObject(event, "traits")
        case .alias:
            guard nonEmptyString(event, "userId") != nil else { throw Failure(reason: "alias needs a \"userId\"") }
            guard nonEmptyString(event, "previousId") != nil else { throw Failure(reason: "alias needs a \"previousId\"") }
        }
        return type
    }

    private func nonEmptyString(_ event: JSONObject, _ field: String) -> String? {
        guard let text = event[field]?.stringValue, !text.isEmpty else { return nil }
        return text
    }

    private func requireString(_ event: JSONObject, _ field: String) throws(Failure) {
        guard nonEmptyString(event, field) != nil else { throw Failure(reason: "\"\(field)\" must be a non-empty string") }
    }

    private func optionalString(_ event: JSONObject, _ field: String) throws(Failure) {
        guard let value = event[field], !value.isNull else { return }
        guard value.stringValue != nil else { throw Failure(reason: "\"\(field)\" must be a string, not \(value.typeName)") }
    }

    private func optionalObject(_ event: JSONObject, _ field: String) throws(Failure) {
        guard let value = event[field], !value.isNull else { return }
        guard value.objectValue != nil else { throw Failure(reason: "\"\(field)\" must be an object, not \(value.typeName)") }
    }
}
