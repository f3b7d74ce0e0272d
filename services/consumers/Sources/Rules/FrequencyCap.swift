/// "At most `max` times per `window`" for one action of one rule and one user,
/// e.g. `cap: {max: 3, per: 24h}`. The counting (Redis) is the consumer's; this
/// is the parsed value and the key to count under.
public struct FrequencyCap: Sendable, Equatable, CustomStringConvertible {
    /// How many sends are allowed in one window (at least 1).
    public let max: Int
    /// The window's length in seconds.
    public let windowSeconds: Int
    /// The window as written in the file (`24h`).
    public let per: String
    /// The capped action's position in its rule's `actions` (from 0), so that
    /// two capped actions of one rule count separately.
    public let actionIndex: Int

    public init(max: Int, windowSeconds: Int, per: String? = nil, actionIndex: Int = 0) {
        self.max = max
        self.windowSeconds = windowSeconds
        self.per = per ?? "\(windowSeconds)s"
        self.actionIndex = actionIndex
    }

    public var description: String { "at most \(max) per \(per)" }

    /// The counter's key: `beacon:cap:{rule}:{action}:{app}:{user}`. Parts are
    /// escaped (`%` → `%25`, `:` → `%3A`) so that no app or user id can reach
    /// into another's counter. A missing app is written as an empty part.
    public func key(rule: String, app: String?, user: String) -> String {
        "beacon:cap:" + Self.escaped(rule) + ":" + String(actionIndex) + ":" + Self.escaped(app ?? "") + ":" + Self.escaped(user)
    }

    static func escaped(_ part: String) -> String {
        guard part.contains(where: { $0 == ":" || $0 == "%" }) else { return part }
        var output = ""
        for character in part {
            switch character {
            case "%": output += "%25"
            case ":": output += "%3A"
            default: output.append(character)
            }
        }
        return output
    }

    static func parse(_ field: YAMLField, actionIndex: Int) throws(RulesFileError) -> FrequencyCap {
        let map = try field.mapping(allowed: ["max", "per"])
        let maxField = try map.required("max")
        let max = try maxField.int()
        guard max >= 1 else { throw maxField.error("must be at least 1") }
        let perField = try map.required("per")
        let per = try perField.string()
        guard let seconds = DurationText.seconds(per), seconds > 0 else {
            throw perField.error("invalid duration \"\(per)\" (\(DurationText.help))")
        }
        return FrequencyCap(max: max, windowSeconds: seconds, per: per, actionIndex: actionIndex)
    }
}
