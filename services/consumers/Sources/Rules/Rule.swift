import BeaconCore

/// One rule: a name, a `match` on the event and the actions to take.
///
///     - name: big-order                  # unique; letters, digits, - _ .
///       description: Thank big spenders  # optional
///       enabled: true                    # optional; false keeps the rule but never matches
///       match: {type: track, event: Order Completed, properties: {total: {gte: 100}}}
///       actions:
///         - push: {...}
///         - webhook: {...}
public struct Rule: Sendable, Equatable {
    public let name: String
    /// Position in the file's `rules` list, counting from 1.
    public let number: Int
    public let description: String?
    public let enabled: Bool
    public let match: EventMatcher
    public let actions: [RuleAction]

    public static let keys = ["name", "description", "enabled", "match", "actions"]

    public init(name: String, number: Int = 1, description: String? = nil, enabled: Bool = true, match: EventMatcher,
                actions: [RuleAction]) {
        self.name = name
        self.number = number
        self.description = description
        self.enabled = enabled
        self.match = match
        self.actions = actions
    }

    /// False for a disabled rule.
    public func matches(_ event: JSONValue) -> Bool {
        enabled && match.matches(event)
    }

    public var pushActions: [PushAction] {
        actions.compactMap { if case .push(let action) = $0 { action } else { nil } }
    }

    public var webhookActions: [WebhookAction] {
        actions.compactMap { if case .webhook(let action) = $0 { action } else { nil } }
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 100 else { return false }
        func allowed(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": true
            default: false
            }
        }
        return allowed(first) && first != "-" && first != "." && name.unicodeScalars.allSatisfy(allowed)
    }

    // MARK: Reading from YAML

    /// `field` is the rule's mapping; its location names the rule by number.
    static func parse(_ field: YAMLField) throws(RulesFileError) -> Rule {
        let number = field.location.ruleNumber ?? 1
        // Read the name first, so that every later error can use it.
        guard case .mapping = field.node else { throw field.error("expected a rule (a mapping with name, match and actions), found \(field.kind)") }
        var location = field.location
        var nameText: String?
        for (key, value) in try field.entries() where key == "name" {
            let text = try value.string()
            guard isValidName(text) else {
                throw value.error("invalid rule name \"\(text)\" (use letters, digits, -, _ and ., at most 100, starting with a letter or digit)")
            }
            nameText = text
        }
        location.ruleName = nameText
        let rule = field.with(location: location)
        let map = try rule.mapping(allowed: keys)
        guard let name = nameText else { throw rule.error("missing required key \"name\"") }

        let description = try map["description"].map { field throws(RulesFileError) in try field.string() }
        let enabled = try map["enabled"].map { field throws(RulesFileError) in try field.bool() } ?? true
        let match = try EventMatcher.parse(try map.required("match"))

        let actionsField = try map.required("actions")
        var actions: [RuleAction] = []
        for (index, actionField) in try actionsField.sequence().enumerated() {
            actions.append(try RuleAction.parse(actionField, index: index))
        }
        guard !actions.isEmpty else { throw actionsField.error("a rule needs at least one action") }
        return Rule(name: name, number: number, description: description, enabled: enabled, match: match, actions: actions)
    }
}

/// What a rule does when it matches.
public enum RuleAction: Sendable, Equatable {
    case push(PushAction)
    case webhook(WebhookAction)

    public var cap: FrequencyCap? {
        switch self {
        case .push(let action): action.cap
        case .webhook(let action): action.cap
        }
    }

    public static let kinds = ["push", "webhook"]

    static func parse(_ field: YAMLField, index: Int) throws(RulesFileError) -> RuleAction {
        let map = try field.mapping(allowed: kinds)
        guard map.entries.count == 1, let (kind, body) = map.entries.first else {
            throw field.error("an action is a mapping with exactly one key: push or webhook")
        }
        switch kind {
        case "push": return .push(try PushAction.parse(body, actionIndex: index))
        default: return .webhook(try WebhookAction.parse(body, actionIndex: index))
        }
    }
}
