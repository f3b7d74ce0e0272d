import BeaconCore

/// One condition on a field of the event, from `match.properties` (paths
/// relative to `properties`) or `match.fields` (paths from the event's root).
/// Its tests must all hold.
///
/// In YAML a condition is a mapping of operators, or a shorthand:
///
///     currency: EUR                 # equals
///     currency: [EUR, USD]          # in
///     total: {gte: 100, lt: 1000}   # numeric range
///     coupon: {exists: true}
public struct FieldCondition: Sendable, Equatable {
    public enum Test: Sendable, Equatable {
        /// Numbers compare by value (42 equals 42.0 and the text "42", as
        /// pixel events carry text); text compares exactly; `null` matches a
        /// missing field or null.
        case equals(JSONValue)
        case `in`([JSONValue])
        case gt(Double), gte(Double), lt(Double), lte(Double)
        /// True: present and not null. False: missing or null.
        case exists(Bool)
    }

    public static let operators = ["equals", "in", "gt", "gte", "lt", "lte", "exists"]

    public let path: EventPath
    public let tests: [Test]

    public init(path: EventPath, tests: [Test]) {
        self.path = path
        self.tests = tests
    }

    public func matches(_ event: JSONValue) -> Bool {
        let value = path.resolve(in: event)
        for test in tests where !Self.holds(test, for: value) { return false }
        return true
    }

    static func holds(_ test: Test, for value: JSONValue?) -> Bool {
        switch test {
        case .exists(let expected): return (value != nil && value != .null) == expected
        case .equals(let expected): return equal(value, expected)
        case .in(let candidates): return candidates.contains { equal(value, $0) }
        case .gt(let bound): return numeric(value).map { $0 > bound } ?? false
        case .gte(let bound): return numeric(value).map { $0 >= bound } ?? false
        case .lt(let bound): return numeric(value).map { $0 < bound } ?? false
        case .lte(let bound): return numeric(value).map { $0 <= bound } ?? false
        }
    }

    static func equal(_ value: JSONValue?, _ expected: JSONValue) -> Bool {
        guard let value, value != .null else { return expected == .null }
        switch expected {
        case .null:
            return false
        case .integer(let number):
            if case .integer(let actual) = value { return actual == number }
            return numeric(value) == Double(number)
        case .number(let number):
            return numeric(value) == number
        case .string(let text):
            switch value {
            case .string(let actual): return actual == text
            case .integer, .number, .bool: return Template.text(of: value) == text
            default: return false
            }
        case .bool(let flag):
            switch value {
            case .bool(let actual): return actual == flag
            case .string(let actual): return actual == (flag ? "true" : "false")
            default: return false
            }
        case .array, .object:
            return value == expected
        }
    }

    /// A number, or text that is one (pixel events carry properties as text).
    static func numeric(_ value: JSONValue?) -> Double? {
        switch value {
        case .integer(let number): return Double(number)
        case .number(let number): return number
        case .string(let text):
            let trimmed = text.trimmingWhitespace
            guard let first = trimmed.unicodeScalars.first, first == "-" || first == "+" || first == "." || ("0"..."9").contains(first),
                  let number = Double(trimmed), number.isFinite
            else { return nil }
            return number
        default: return nil
        }
    }

    // MARK: Reading from YAML

    static func parse(_ field: YAMLField, path: EventPath) throws(RulesFileError) -> FieldCondition {
        switch field.node {
        case .scalar:
            return FieldCondition(path: path, tests: [.equals(try field.scalarJSON())])
        case .sequence:
            return FieldCondition(path: path, tests: [.in(try candidates(field))])
        case .mapping:
            var tests: [Test] = []
            let entries = try field.entries()
            guard !entries.isEmpty else {
                throw field.error("expected at least one operator (" + operators.joined(separator: ", ") + ")")
            }
            for (key, operand) in entries {
                switch key {
                case "equals": tests.append(.equals(try operand.scalarOrJSON()))
                case "in": tests.append(.in(try candidates(operand)))
                case "gt": tests.append(.gt(try number(operand)))
                case "gte": tests.append(.gte(try number(operand)))
                case "lt": tests.append(.lt(try number(operand)))
                case "lte": tests.append(.lte(try number(operand)))
                case "exists": tests.append(.exists(try operand.bool()))
                default:
                    let message = "unknown operator \"\(key)\" (expected " + operators.joined(separator: ", ") + ")"
                    throw field.error(message, at: operand.node)
                }
            }
            try checkConsistent(tests, field)
            return FieldCondition(path: path, tests: tests)
        case .alias:
            throw field.error("unexpected alias")
        }
    }

    private static func candidates(_ field: YAMLField) throws(RulesFileError) -> [JSONValue] {
        var values: [JSONValue] = []
        for item in try field.sequence() { values.append(try item.scalarJSON()) }
        guard !values.isEmpty else { throw field.error("expected at least one value") }
        return values
    }

    private static func number(_ field: YAMLField) throws(RulesFileError) -> Double {
        switch try field.scalarJSON() {
        case .number(let number): return number
        case .integer(let number): return Double(number)
        default: throw field.error("expected a number, found \(field.kind)")
        }
    }

    private static func checkConsistent(_ tests: [Test], _ field: YAMLField) throws(RulesFileError) {
        if tests.contains(.exists(false)), tests.count > 1 {
            throw field.error("exists: false cannot be combined with other operators (it would never match)")
        }
        var lower: (value: Double, inclusive: Bool)?
        var upper: (value: Double, inclusive: Bool)?
        for test in tests {
            switch test {
            case .gt(let value): lower = (value, false)
            case .gte(let value): lower = (value, true)
            case .lt(let value): upper = (value, false)
            case .lte(let value): upper = (value, true)
            default: break
            }
        }
        if let lower, let upper,
           lower.value > upper.value || (lower.value == upper.value && !(lower.inclusive && upper.inclusive)) {
            throw field.error("the range is empty (no number is \(lower.inclusive ? ">=" : ">") \(Template.formatted(lower.value)) and \(upper.inclusive ? "<=" : "<") \(Template.formatted(upper.value)))")
        }
    }
}

extension YAMLField {
    /// `equals` takes a single value; a list or mapping compares as JSON.
    fileprivate func scalarOrJSON() throws(RulesFileError) -> JSONValue {
        if case .scalar = node { return try scalarJSON() }
        return try json()
    }
}
