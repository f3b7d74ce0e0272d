import BeaconCore
import Yams

/// Where in the rules file a value sits: the file, the rule being read and the
/// field path inside it. Every error raised while reading carries all three.
struct RulesFileLocation: Sendable {
    var file: String
    var ruleName: String?
    var ruleNumber: Int?
}

/// A YAML node together with its location, with typed readers that fail with a
/// `RulesFileError` naming the field. Unknown keys are errors everywhere.
struct YAMLField {
    let node: Node
    let path: String
    let location: RulesFileLocation

    func error(_ message: String, at node: Node? = nil) -> RulesFileError {
        let mark = (node ?? self.node).mark
        return RulesFileError(file: location.file, ruleName: location.ruleName, ruleNumber: location.ruleNumber,
                              field: path, message: message, line: mark?.line, column: mark?.column)
    }

    func child(_ key: String, _ node: Node) -> YAMLField {
        YAMLField(node: node, path: path.isEmpty ? key : path + "." + key, location: location)
    }

    func element(_ index: Int, _ node: Node) -> YAMLField {
        YAMLField(node: node, path: path + "[\(index)]", location: location)
    }

    /// The same node seen from another rule context (once the rule's name is known).
    func with(location: RulesFileLocation, path: String? = nil) -> YAMLField {
        YAMLField(node: node, path: path ?? self.path, location: location)
    }

    var kind: String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case .scalar:
            if isNull { "nothing (null)" } else { "\"\(node.scalar?.string ?? "")\"" }
        }
    }

    var isNull: Bool {
        guard case .scalar = node else { return false }
        return node.tag.tagName == .null
    }

    // MARK: Mappings

    /// The entries of a mapping in file order, with YAML merge keys (`<<: *anchor`)
    /// applied; keys given explicitly win over merged ones.
    func entries() throws(RulesFileError) -> [(key: String, field: YAMLField)] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping, found \(kind)") }
        var merged: [(key: String, field: YAMLField)] = []
        var explicit: [(key: String, field: YAMLField)] = []
        for (keyNode, valueNode) in mapping {
            if keyNode.tag.tagName == .merge {
                let sources: [Node]
                switch valueNode {
                case .mapping: sources = [valueNode]
                case .sequence(let sequence): sources = Array(sequence)
                default: throw error("a merge key (<<) needs a mapping or a list of mappings", at: keyNode)
                }
                for source in sources {
                    for entry in try YAMLField(node: source, path: path, location: location).entries()
                    where !merged.contains(where: { $0.key == entry.key }) {
                        merged.append(entry)
                    }
                }
                continue
            }
            guard case .scalar(let keyScalar) = keyNode, keyNode.tag.tagName != .null else {
                throw error("keys must be plain text", at: keyNode)
            }
            explicit.append((key: keyScalar.string, field: child(keyScalar.string, valueNode)))
        }
        let overridden = merged.filter { entry in !explicit.contains(where: { $0.key == entry.key }) }
        return overridden + explicit
    }

    /// A mapping whose keys must all be among `allowed`.
    func mapping(allowed: [String]) throws(RulesFileError) -> FieldMap {
        let entries = try entries()
        for entry in entries where !allowed.contains(entry.key) {
            let message = if let suggestion = Spelling.closest(to: entry.key, among: allowed) {
                "unknown key \"\(entry.key)\" (did you mean \"\(suggestion)\"?)"
            } else {
                "unknown key \"\(entry.key)\" (expected " + allowed.joined(separator: ", ") + ")"
            }
            throw error(message, at: entry.field.node)
        }
        return FieldMap(parent: self, entries: entries)
    }

    // MARK: Lists

    func sequence() throws(RulesFileError) -> [YAMLField] {
        guard case .sequence(let sequence) = node else { throw error("expected a list, found \(kind)") }
        return sequence.enumerated().map { element($0.offset, $0.element) }
    }

    /// One text value or a list of them; never empty.
    func stringList() throws(RulesFileError) -> [String] {
        let values: [String]
        if case .sequence = node {
            var collected: [String] = []
            for item in try sequence() { collected.append(try item.string()) }
            values = collected
        } else {
            values = [try string()]
        }
        guard !values.isEmpty else { throw error("expected at least one value") }
        return values
    }

    // MARK: Scalars

    /// Any scalar read as text, as written (so that `NO`, Norway's country code,
    /// stays "NO" and is not read as false).
    func string() throws(RulesFileError) -> String {
        guard case .scalar(let scalar) = node, !isNull else { throw error("expected text, found \(kind)") }
        return scalar.string
    }

    func nonEmptyString() throws(RulesFileError) -> String {
        let text = try string()
        guard !text.trimmingWhitespace.isEmpty else { throw error("must not be empty") }
        return text
    }

    func int() throws(RulesFileError) -> Int {
        guard case .scalar = node, node.tag.tagName == .int, let value = node.int else {
            throw error("expected a whole number, found \(kind)")
        }
        return value
    }

    func bool() throws(RulesFileError) -> Bool {
        guard case .scalar = node, node.tag.tagName == .bool, let value = node.bool else {
            throw error("expected true or false, found \(kind)")
        }
        return value
    }

    /// A scalar as a JSON value: numbers and `true`/`false` keep their type,
    /// everything else (including YAML 1.1's yes/no/on/off) is text.
    func scalarJSON() throws(RulesFileError) -> JSONValue {
        guard case .scalar(let scalar) = node else { throw error("expected a single value, found \(kind)") }
        switch node.tag.tagName {
        case .null: return .null
        case .int:
            if let value = Int64(scalar.string.replacingUnderscores) { return .integer(value) }
            if let value = node.int { return .integer(Int64(value)) }
            throw error("number out of range: \(scalar.string)")
        case .float:
            guard let value = node.float, value.isFinite else { throw error("expected a finite number, found \(kind)") }
            return .number(value)
        case .bool:
            switch scalar.string.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: return .string(scalar.string)
            }
        default: return .string(scalar.string)
        }
    }

    /// Any node as JSON (mappings keep their order).
    func json() throws(RulesFileError) -> JSONValue {
        switch node {
        case .scalar: return try scalarJSON()
        case .sequence:
            var values: [JSONValue] = []
            for item in try sequence() { values.append(try item.json()) }
            return .array(values)
        case .mapping:
            var object = JSONObject()
            for entry in try entries() { object[entry.key] = try entry.field.json() }
            return .object(object)
        case .alias: throw error("unexpected alias")
        }
    }
}

/// The entries of a mapping whose keys were checked.
struct FieldMap {
    let parent: YAMLField
    let entries: [(key: String, field: YAMLField)]

    subscript(key: String) -> YAMLField? {
        for entry in entries where entry.key == key { return entry.field }
        return nil
    }

    func required(_ key: String) throws(RulesFileError) -> YAMLField {
        guard let field = self[key] else { throw parent.error("missing required key \"\(key)\"") }
        return field
    }

    func has(_ key: String) -> Bool { self[key] != nil }
}

/// "Did you mean" suggestions for misspelt keys and values.
enum Spelling {
    static func closest(to word: String, among candidates: [String]) -> String? {
        let lowered = word.lowercased()
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(Array(lowered.unicodeScalars), Array(candidate.lowercased().unicodeScalars))
            let prefix = zip(lowered, candidate.lowercased()).prefix { $0 == $1 }.count
            let close = distance <= max(1, candidate.count / 3) || (prefix >= 4 && prefix >= candidate.count - 2)
            if close, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.candidate
    }

    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

extension String {
    var trimmingWhitespace: Substring {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }

    fileprivate var replacingUnderscores: String { filter { $0 != "_" } }
}

extension Tag {
    /// The resolved tag's name (`Tag.name` is internal to Yams).
    var tagName: Tag.Name { Tag.Name(rawValue: rawValue) }
}
