import BeaconCore
import Foundation

/// Adds what only the tracker knows to an event, leaving what the client
/// sent alone: a messageId when there is none (so duplicates can be spotted
/// downstream), receivedAt, the app, and the client's address and user agent.
struct EventStamper: Sendable {
    struct RequestFacts {
        var writeKey: String
        var app: String
        var receivedAt: String
        var ip: String?
        var userAgent: String?
        /// From a batch's top level: applies to each event that lacks its own.
        var sharedContext: JSONObject?
        var sentAt: JSONValue?
    }

    func stamp(_ event: inout JSONObject, type: EventType?, facts: RequestFacts) {
        if let type { event["type"] = .string(type.rawValue) }
        if case .string(let id)? = event["messageId"], !id.isEmpty {
        } else {
            event["messageId"] = .string(MessageId.random())
        }
        event["receivedAt"] = .string(facts.receivedAt)
        event["app"] = .string(facts.app)
        event["writeKey"] = .string(facts.writeKey)
        if event["sentAt"] == nil, let sentAt = facts.sentAt { event["sentAt"] = sentAt }

        var context = event["context"]?.objectValue ?? JSONObject()
        if let shared = facts.sharedContext {
            for entry in shared.entries where context[entry.key] == nil { context[entry.key] = entry.value }
        }
        if context["ip"]?.stringValue == nil, let ip = facts.ip { context["ip"] = .string(ip) }
        if context["userAgent"]?.stringValue == nil, let userAgent = facts.userAgent { context["userAgent"] = .string(userAgent) }
        event["context"] = .object(context)
    }
}
