import BeaconCore

/// A rule's `match`: every part given must hold; a part left out matches
/// anything. An empty `match: {}` matches every event.
///
///     match:
///       type: track                      # or a list; Segment call types
///       event: [Order Completed]         # event name(s); for page/screen calls, their name
///       app: demo                        # the app(s) the event came from
///       properties:                      # conditions on paths inside `properties`
///         total: {gte: 100}
///       fields:                          # conditions on paths from the event's root
///         context.traits.plan: pro
///       geo: {country: [DE, AT]}         # enrichment.geo.countryCode
///       device: {type: [mobile, tablet], os: [iOS]}   # enrichment.device.type / osFamily
public struct EventMatcher: Sendable, Equatable {
    /// Nil: any.
    public let types: Set<String>?
    public let events: Set<String>?
    public let apps: Set<String>?
    public let conditions: [FieldCondition]
    /// Upper-case ISO 3166-1 alpha-2 codes.
    public let countries: Set<String>?
    /// mobile, tablet, desktop, bot.
    public let deviceTypes: Set<String>?
    /// Lower-cased OS families (compared without regard to case).
    public let osFamilies: Set<String>?

    public init(types: Set<String>? = nil, events: Set<String>? = nil, apps: Set<String>? = nil,
                conditions: [FieldCondition] = [], countries: Set<String>? = nil,
                deviceTypes: Set<String>? = nil, osFamilies: Set<String>? = nil) {
        self.types = types
        self.events = events
        self.apps = apps
        self.conditions = conditions
        self.countries = countries
        self.deviceTypes = deviceTypes
        self.osFamilies = osFamilies
    }

    public static let keys = ["type", "event", "app", "properties", "fields", "geo", "device"]
    public static let deviceTypeNames = ["mobile", "tablet", "desktop", "bot"]

    public func matches(_ event: JSONValue) -> Bool {
        if let types, !Self.contains(types, event["type"]) { return false }
        if let events, !Self.contains(events, Self.eventName(of: event)) { return false }
        if let apps, !Self.contains(apps, event["app"]) { return false }
        if let countries {
            guard let code = event["enrichment"]?["geo"]?["countryCode"]?.stringValue, countries.contains(code.uppercased()) else {
                return false
            }
        }
        if let deviceTypes {
            guard let type = event["enrichment"]?["device"]?["type"]?.stringValue, deviceTypes.contains(type.lowercased()) else {
                return false
            }
        }
        if let osFamilies {
            guard let family = event["enrichment"]?["device"]?["osFamily"]?.stringValue, osFamilies.contains(family.lowercased()) else {
                return false
            }
        }
        for condition in conditions where !condition.matches(event) { return false }
        return true
    }

    /// A track call's `event`; a page or screen call's `name`.
    public static func eventName(of event: JSONValue) -> JSONValue? {
        if let name = event["event"], name != .null { return name }
        return event["name"]
    }

    private static func contains(_ set: Set<String>, _ value: JSONValue?) -> Bool {
        guard case .string(let text) = value else { return false }
        return set.contains(text)
    }

    // MARK: Reading from YAML

    static func parse(_ field: YAMLField) throws(RulesFileError) -> EventMatcher {
        let map = try field.mapping(allowed: keys)
        var types: Set<String>?
        if let typeField = map["type"] {
            let names = try typeField.stringList()
            let known = EventType.allCases.map(\.rawValue)
            for name in names where !known.contains(name) {
                throw typeField.error("unknown event type \"\(name)\" (expected " + known.joined(separator: ", ") + ")")
            }
            types = Set(names)
        }
        let events = try map["event"].map { field throws(RulesFileError) in Set(try field.nonEmptyStrings()) }
        let apps = try map["app"].map { field throws(RulesFileError) in Set(try field.nonEmptyStrings()) }

        var conditions: [FieldCondition] = []
        if let properties = map["properties"] {
            for (key, condition) in try properties.entries() {
                guard let path = EventPath(key) else { throw properties.error("invalid property path \"\(key)\"") }
                conditions.append(try FieldCondition.parse(condition, path: EventPath(segments: ["properties"] + path.segments)))
            }
        }
        if let fields = map["fields"] {
            for (key, condition) in try fields.entries() {
                guard let path = EventPath(key) else { throw fields.error("invalid field path \"\(key)\"") }
                conditions.append(try FieldCondition.parse(condition, path: path))
            }
        }

        var countries: Set<String>?
        if let geo = map["geo"] {
            let geoMap = try geo.mapping(allowed: ["country"])
            if let countryField = geoMap["country"] {
                var codes: Set<String> = []
                for code in try countryField.stringList() {
                    guard code.count == 2, code.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                        throw countryField.error("\"\(code)\" is not a two-letter country code (like DE or US)")
                    }
                    codes.insert(code.uppercased())
                }
                countries = codes
            }
        }

        var deviceTypes: Set<String>?
        var osFamilies: Set<String>?
        if let device = map["device"] {
            let deviceMap = try device.mapping(allowed: ["type", "os"])
            if let typeField = deviceMap["type"] {
                var names: Set<String> = []
                for name in try typeField.stringList() {
                    guard deviceTypeNames.contains(name.lowercased()) else {
                        throw typeField.error("unknown device type \"\(name)\" (expected " + deviceTypeNames.joined(separator: ", ") + ")")
                    }
                    names.insert(name.lowercased())
                }
                deviceTypes = names
            }
            if let osField = deviceMap["os"] {
                osFamilies = Set(try osField.nonEmptyStrings().map { $0.lowercased() })
            }
        }

        return EventMatcher(types: types, events: events, apps: apps, conditions: conditions, countries: countries,
                            deviceTypes: deviceTypes, osFamilies: osFamilies)
    }
}

extension YAMLField {
    fileprivate func nonEmptyStrings() throws(RulesFileError) -> [String] {
        let values = try stringList()
        for value in values where value.trimmingWhitespace.isEmpty { throw error("must not be empty") }
        return values
    }
}
