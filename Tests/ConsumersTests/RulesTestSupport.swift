import BeaconCore
import Foundation
import Testing
@testable import ConsumersService

/// Shared fixtures for the rules tests.
enum RulesFixture {
    /// The event of the issue: an order from Berlin on an iPhone.
    static let orderJSON = """
        {"type":"track","event":"Order Completed","userId":"u1","anonymousId":null,"messageId":"m-1","app":"demo",
         "properties":{"total":42.5,"currency":"EUR","orderId":"o-7","count":3,"flag":true,"note":null,"text":"100",
                       "items":[{"sku":"A1","price":10.0}],"cart":{"items":2}},
         "context":{"ip":"81.2.69.160","device":{"token":"tok","type":"ios"},"traits":{"name":"Ada","plan":"pro"},
                    "app":{"version":"1.2.0"}},
         "enrichment":{"geo":{"countryCode":"DE","city":"Berlin"},"device":{"type":"mobile","osFamily":"iOS"}},
         "timestamp":"2026-03-01T12:00:00.000Z"}
        """

    static var order: JSONValue { try! JSONParser.parse(orderJSON) }

    /// `order` with one field replaced (or removed with nil), by dotted path.
    static func order(setting path: String, to value: JSONValue?) -> JSONValue {
        var event = order
        set(&event, Array(path.split(separator: ".").map(String.init))[...], value)
        return event
    }

    private static func set(_ root: inout JSONValue, _ path: ArraySlice<String>, _ value: JSONValue?) {
        guard case .object(var object) = root, let first = path.first else { return }
        if path.count == 1 {
            object[first] = value
        } else {
            var child = object[first] ?? .object(JSONObject())
            set(&child, path.dropFirst(), value)
            object[first] = child
        }
        root = .object(object)
    }

    static func ruleSet(_ yaml: String) throws -> RuleSet {
        try RuleSet(yaml: yaml, file: "rules.yaml")
    }

    /// One rule with a push action and the given match (YAML flow or block, indented for the `match:` key).
    static func matcher(_ match: String) throws -> EventMatcher {
        let yaml = """
            rules:
              - name: r
                match:
            \(match.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
                actions: [{push: {title: hi}}]
            """
        return try ruleSet(yaml).rules[0].match
    }

    /// The description of the error loading `yaml` raises (nil when it loads).
    static func loadError(_ yaml: String) -> String? {
        do {
            _ = try RuleSet(yaml: yaml, file: "rules.yaml")
            return nil
        } catch {
            return error.description
        }
    }

    /// The example rules file next to the consumers service.
    static func exampleFilePath() throws -> String {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = directory.appendingPathComponent("services/consumers/rules.example.yaml")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
            directory = directory.deletingLastPathComponent()
        }
        throw CocoaError(.fileNoSuchFile)
    }
}
