/// Why a rules file was refused. The description names the file, the rule (by
/// name when it has a valid one, and always by its position, counting from 1)
/// and the field path inside the rule, so that start-up fails with a message
/// that points at the typo:
///
///     rules.yaml: rule "big-order" (#2): match.properties.total: unknown operator "gtx" (expected equals, in, gt, gte, lt, lte, exists)
///
/// Field paths use dots for keys and `[n]` (counting from 0) for list items,
/// e.g. `actions[1].webhook.url`. Errors outside any rule name the top-level key
/// (`rules: expected a list of rules`) or only the file (YAML syntax errors).
public struct RulesFileError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file as it was given to `RuleSet.load(path:)` (or the name passed with YAML text).
    public let file: String
    /// The rule's name, when it had a valid one.
    public let ruleName: String?
    /// The rule's position in the `rules` list, counting from 1.
    public let ruleNumber: Int?
    /// Where in the rule (or the file) the problem is, e.g. `match.properties.total`.
    public let field: String?
    /// What is wrong.
    public let message: String
    /// Where in the file, counting from 1, when known.
    public let line: Int?
    public let column: Int?

    public init(file: String, ruleName: String? = nil, ruleNumber: Int? = nil, field: String? = nil, message: String,
                line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.ruleName = ruleName
        self.ruleNumber = ruleNumber
        self.field = field
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        var parts = [file]
        if let ruleNumber {
            if let ruleName { parts.append("rule \"\(ruleName)\" (#\(ruleNumber))") } else { parts.append("rule #\(ruleNumber)") }
        }
        if let field, !field.isEmpty { parts.append(field) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }

    /// The description followed by the line and column, for logs where the
    /// position helps more than it clutters.
    public var descriptionWithPosition: String {
        guard let line else { return description }
        return description + " (line \(line)" + (column.map { ", column \($0)" } ?? "") + ")"
    }
}
