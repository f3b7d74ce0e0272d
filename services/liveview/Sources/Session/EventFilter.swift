import BeaconCore

/// What a browser asked to see. Runs on the server, so a busy topic costs
/// the browser only what matches.
struct EventFilter: Sendable, Equatable {
    var eventType: String?
    var event: String?
    var app: String?
    var country: String?
    /// Case-insensitive substring of the message's JSON text.
    var text: String?

    init(eventType: String? = nil, event: String? = nil, app: String? = nil, country: String? = nil, text: String? = nil) {
        self.eventType = eventType
        self.event = event
        self.app = app
        self.country = country
        self.text = text?.lowercased()
    }

    init(_ object: JSONObject?) {
        func field(_ name: String) -> String? {
            guard let text = object?[name]?.stringValue?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        self.init(eventType: field("eventType"), event: field("event"), app: field("app"), country: field("country"), text: field("text"))
    }

    func matches(_ message: TailedMessage) -> Bool {
        // Invalid-topic records wrap the event in "payload".
        let event = message.value?["payload"]?.objectValue.map(JSONValue.object) ?? message.value
        if let eventType, event?["type"]?.stringValue != eventType { return false }
        if let wanted = self.event {
            let name = event?["event"]?.stringValue ?? event?["name"]?.stringValue
            guard let name, name.caseInsensitiveCompare(wanted) == .orderedSame else { return false }
        }
        if let app, event?["app"]?.stringValue != app { return false }
        if let country {
            let code = event?["enrichment"]?["geo"]?["countryCode"]?.stringValue
            guard let code, code.caseInsensitiveCompare(country) == .orderedSame else { return false }
        }
        if let text {
            let haystack = String(decoding: message.message.value, as: UTF8.self).lowercased()
            guard haystack.contains(text) else { return false }
        }
        return true
    }
}
