import BeaconCore

/// A rule's `push` action: what to show, rendered from the event; the consumer
/// resolves the user's devices and writes one request per device (for the
/// platforms in `platforms`) to `PushPlatform.topic`, keyed by token.
///
///     - push:
///         title: "Thanks, {{traits.name | \"there\"}}!"
///         body: "Your order of {{properties.total}} {{properties.currency}} is confirmed."
///         data: {orderId: "{{properties.orderId}}", screen: orders}
///         sound: default
///         badge: 1                      # or a template such as "{{properties.unread}}"
///         collapseKey: "order-{{properties.orderId}}"
///         priority: high                # high (default) or normal
///         ttl: 1h                       # seconds or a duration; optional
///         platforms: [ios, android]     # default: both
///         cap: {max: 3, per: 24h}       # optional, per rule and user
public struct PushAction: Sendable, Equatable {
    public enum Badge: Sendable, Equatable {
        case fixed(Int)
        /// Rendered, then read as a whole number; left out when it is not one.
        case template(Template)
    }

    public let title: Template?
    public let body: Template?
    /// In file order.
    public let data: [(key: String, value: Template)]
    public let sound: Template?
    public let badge: Badge?
    public let collapseKey: Template?
    public let priority: PushPriority
    public let ttl: Int?
    public let platforms: [PushPlatform]
    public let cap: FrequencyCap?

    public static let keys = ["title", "body", "data", "sound", "badge", "collapseKey", "priority", "ttl", "platforms", "cap"]

    public func targets(_ platform: PushPlatform) -> Bool { platforms.contains(platform) }

    /// What the push shows for this event: the same for every device of the user.
    public func render(_ event: JSONValue) -> PushNotification {
        var data: [String: String] = [:]
        for entry in self.data { data[entry.key] = entry.value.render(event) }
        let badge: Int?
        switch self.badge {
        case .fixed(let number): badge = number
        case .template(let template): badge = Self.wholeNumber(template.render(event))
        case nil: badge = nil
        }
        return PushNotification(title: Self.nonEmpty(title?.render(event)), body: Self.nonEmpty(body?.render(event)), data: data,
                                sound: Self.nonEmpty(sound?.render(event)), badge: badge,
                                collapseKey: Self.nonEmpty(collapseKey?.render(event)), priority: priority, ttlSeconds: ttl)
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text
    }

    private static func wholeNumber(_ text: String) -> Int? {
        let trimmed = text.trimmingWhitespace
        if let number = Int(trimmed), number >= 0 { return number }
        if let number = Double(trimmed), number.isFinite, let whole = Int(exactly: number), whole >= 0 { return whole }
        return nil
    }

    public static func == (lhs: PushAction, rhs: PushAction) -> Bool {
        lhs.title == rhs.title && lhs.body == rhs.body && lhs.data.map(\.key) == rhs.data.map(\.key)
            && lhs.data.map(\.value) == rhs.data.map(\.value) && lhs.sound == rhs.sound && lhs.badge == rhs.badge
            && lhs.collapseKey == rhs.collapseKey && lhs.priority == rhs.priority && lhs.ttl == rhs.ttl
            && lhs.platforms == rhs.platforms && lhs.cap == rhs.cap
    }

    // MARK: Reading from YAML

    static func parse(_ field: YAMLField, actionIndex: Int) throws(RulesFileError) -> PushAction {
        let map = try field.mapping(allowed: keys)
        guard map.has("title") || map.has("body") || map.has("data") else {
            throw field.error("a push needs at least one of title, body or data")
        }
        let title = try map["title"].map { field throws(RulesFileError) in try field.template() }
        let body = try map["body"].map { field throws(RulesFileError) in try field.template() }
        var data: [(key: String, value: Template)] = []
        if let dataField = map["data"] {
            for (key, value) in try dataField.entries() {
                guard !key.isEmpty else { throw dataField.error("data keys must not be empty") }
                data.append((key: key, value: try value.template()))
            }
        }
        let sound = try map["sound"].map { field throws(RulesFileError) in try field.template() }

        var badge: Badge?
        if let badgeField = map["badge"] {
            if case .integer(let number) = try? badgeField.scalarJSON() {
                guard number >= 0, let fixed = Int(exactly: number) else { throw badgeField.error("must not be negative") }
                badge = .fixed(fixed)
            } else {
                let template = try badgeField.template()
                guard !template.isConstant else {
                    throw badgeField.error("expected a whole number or a template like \"{{properties.unread}}\", found \(badgeField.kind)")
                }
                badge = .template(template)
            }
        }
        let collapseKey = try map["collapseKey"].map { field throws(RulesFileError) in try field.template() }

        var priority = PushPriority.high
        if let priorityField = map["priority"] {
            let text = try priorityField.string()
            guard let value = PushPriority(rawValue: text.lowercased()) else {
                throw priorityField.error("unknown priority \"\(text)\" (expected high or normal)")
            }
            priority = value
        }
        let ttl = try map["ttl"].map { field throws(RulesFileError) in try field.seconds() }

        var platforms = PushPlatform.allCases
        if let platformsField = map["platforms"] {
            platforms = []
            for name in try platformsField.stringList() {
                guard let platform = PushPlatform(rawValue: name.lowercased()) else {
                    throw platformsField.error("unknown platform \"\(name)\" (expected ios, android)")
                }
                guard !platforms.contains(platform) else { throw platformsField.error("platform \"\(name)\" is listed twice") }
                platforms.append(platform)
            }
        }
        let cap = try map["cap"].map { field throws(RulesFileError) in try FrequencyCap.parse(field, actionIndex: actionIndex) }
        return PushAction(title: title, body: body, data: data, sound: sound, badge: badge, collapseKey: collapseKey,
                          priority: priority, ttl: ttl, platforms: platforms, cap: cap)
    }
}

extension YAMLField {
    func template() throws(RulesFileError) -> Template {
        let text = try string()
        do {
            return try Template(text)
        } catch {
            throw self.error(error.message)
        }
    }

    /// Whole seconds, or a duration such as `1h`.
    func seconds() throws(RulesFileError) -> Int {
        if case .integer(let number) = try? scalarJSON() {
            guard number >= 0, let seconds = Int(exactly: number) else { throw error("must not be negative") }
            return seconds
        }
        let text = try string()
        guard let seconds = DurationText.seconds(text) else {
            throw error("invalid duration \"\(text)\" (expected whole seconds or \(DurationText.help.dropFirst("expected ".count)))")
        }
        return seconds
    }
}
