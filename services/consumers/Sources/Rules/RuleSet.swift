import BeaconCore
import Foundation
import Yams

/// The rules of the consumers service, loaded once at start-up. A malformed
/// file is refused as a whole with a `RulesFileError` naming the rule and the
/// field; nothing is ever silently skipped.
///
///     rules:
///       - name: big-order
///         match: {...}
///         actions: [...]
///
/// Top-level keys other than `rules` must start with `x-` (a place for YAML
/// anchors to share between rules, as in Compose files).
public struct RuleSet: Sendable {
    /// In file order, disabled ones included.
    public let rules: [Rule]
    /// The file's name as given.
    public let file: String

    /// Rules by the event names they require; rules that do not constrain the
    /// event name are checked for every event.
    private let byEventName: [String: [Int]]
    private let anyEventName: [Int]

    public init(rules: [Rule], file: String = "rules") {
        self.rules = rules
        self.file = file
        var byEventName: [String: [Int]] = [:]
        var anyEventName: [Int] = []
        for (index, rule) in rules.enumerated() where rule.enabled {
            if let events = rule.match.events {
                for name in events { byEventName[name, default: []].append(index) }
            } else {
                anyEventName.append(index)
            }
        }
        self.byEventName = byEventName
        self.anyEventName = anyEventName
    }

    public static let empty = RuleSet(rules: [])

    public subscript(name: String) -> Rule? { rules.first { $0.name == name } }

    /// Reads and checks a rules file.
    public static func load(path: String) throws(RulesFileError) -> RuleSet {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw RulesFileError(file: path, message: "cannot read the rules file: \((error as NSError).localizedDescription)")
        }
        return try RuleSet(yaml: text, file: path)
    }

    /// Checks rules given as YAML text; `file` names them in errors.
    public init(yaml: String, file: String = "rules.yaml") throws(RulesFileError) {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw RulesFileError(file: file, message: "the file is empty (expected a mapping with a \"rules\" list)")
            }
            root = node
        } catch let error as RulesFileError {
            throw error
        } catch let error as YamlError {
            throw Self.describe(error, file: file)
        } catch {
            throw RulesFileError(file: file, message: "invalid YAML: \(error)")
        }

        let top = YAMLField(node: root, path: "", location: RulesFileLocation(file: file))
        guard case .mapping = root else { throw top.error("expected a mapping with a \"rules\" list, found \(top.kind)") }
        let entries = try top.entries()
        for (key, value) in entries where key != "rules" && !key.hasPrefix("x-") {
            let suggestion = Spelling.closest(to: key, among: ["rules"]).map { " (did you mean \"\($0)\"?)" } ?? ""
            throw value.with(location: top.location, path: "").error(
                "unknown top-level key \"\(key)\"\(suggestion) (expected rules; keys starting with x- are free for anchors)",
                at: value.node)
        }
        guard let rulesField = entries.first(where: { $0.key == "rules" })?.field else {
            throw top.error("missing the top-level key \"rules\"")
        }
        if rulesField.isNull {
            self.init(rules: [], file: file)
            return
        }
        var rules: [Rule] = []
        var numbersByName: [String: Int] = [:]
        for (index, item) in try rulesField.sequence().enumerated() {
            let location = RulesFileLocation(file: file, ruleName: nil, ruleNumber: index + 1)
            let rule = try Rule.parse(YAMLField(node: item.node, path: "", location: location))
            if let earlier = numbersByName[rule.name] {
                throw RulesFileError(file: file, ruleName: rule.name, ruleNumber: rule.number, field: "name",
                                     message: "the name \"\(rule.name)\" is already used by rule #\(earlier)",
                                     line: item.node.mark?.line, column: item.node.mark?.column)
            }
            numbersByName[rule.name] = rule.number
            rules.append(rule)
        }
        self.init(rules: rules, file: file)
    }

    /// The enabled rules that match the event, in file order. Costs one
    /// dictionary lookup plus the rules that could match that event name.
    public func matching(_ event: JSONValue) -> [Rule] {
        var candidates = anyEventName
        if case .string(let name) = EventMatcher.eventName(of: event), let named = byEventName[name] {
            candidates = Self.mergeSorted(candidates, named)
        }
        return candidates.compactMap { index in rules[index].match.matches(event) ? rules[index] : nil }
    }

    private static func mergeSorted(_ a: [Int], _ b: [Int]) -> [Int] {
        if a.isEmpty { return b }
        if b.isEmpty { return a }
        var merged: [Int] = []
        merged.reserveCapacity(a.count + b.count)
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i] < b[j]) {
                merged.append(a[i]); i += 1
            } else {
                merged.append(b[j]); j += 1
            }
        }
        return merged
    }

    private static func describe(_ error: YamlError, file: String) -> RulesFileError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return RulesFileError(file: file, message: "invalid YAML at line \(mark.line), column \(mark.column): \(problem)",
                                  line: mark.line, column: mark.column)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return RulesFileError(file: file, message: "duplicate key \(keys) at line \(context.mark.line)",
                                  line: context.mark.line, column: context.mark.column)
        default:
            return RulesFileError(file: file, message: "invalid YAML: \(error)")
        }
    }
}
