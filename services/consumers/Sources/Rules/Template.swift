import BeaconCore

/// A text with placeholders filled from an event: `Your order of
/// {{properties.total}} {{properties.currency}}`, `Hi {{traits.name | "there"}}`.
///
/// - A placeholder is a dotted `EventPath`; spaces around it are ignored.
/// - `| "default"` (or `'default'`, or a bare number) is used when the value is
///   missing, null or the empty string; without a default such a value renders
///   as nothing.
/// - Numbers render without a trailing `.0` (42.0 → `42`, 42.5 → `42.5`),
///   booleans as `true`/`false`, lists and objects as compact JSON.
///
/// Templates are parsed once, when the rules file is loaded; rendering walks
/// the parts and appends.
public struct Template: Sendable, Equatable, CustomStringConvertible {
    enum Part: Sendable, Equatable {
        case literal(String)
        case field(EventPath, fallback: JSONValue?)
    }

    /// How substituted values are written (literal text is kept as is).
    public enum Escaping: Sendable {
        case none
        /// Percent-encodes everything but RFC 3986 unreserved characters, for URLs.
        case urlComponent
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public let source: String
    let parts: [Part]

    public init(_ source: String) throws(ParseError) {
        self.source = source
        self.parts = try Self.parse(source)
    }

    public var description: String { source }

    /// True when the template has no placeholders.
    public var isConstant: Bool { !parts.contains { if case .field = $0 { true } else { false } } }

    /// The paths this template reads.
    public var paths: [EventPath] {
        parts.compactMap { if case .field(let path, _) = $0 { path } else { nil } }
    }

    /// When the whole template is one placeholder: its path and default.
    var singleField: (path: EventPath, fallback: JSONValue?)? {
        guard parts.count == 1, case .field(let path, let fallback) = parts[0] else { return nil }
        return (path, fallback)
    }

    public func render(_ event: JSONValue, escaping: Escaping = .none) -> String {
        var output = ""
        for part in parts {
            switch part {
            case .literal(let text):
                output += text
            case .field(let path, let fallback):
                let text = path.resolve(in: event).flatMap(Self.text(of:)) ?? ""
                let value = text.isEmpty ? (fallback.flatMap(Self.text(of:)) ?? "") : text
                switch escaping {
                case .none: output += value
                case .urlComponent: output += Self.percentEncoded(value)
                }
            }
        }
        return output
    }

    /// Every placeholder replaced by `value` (for checking a template's shape at load).
    func render(substituting value: String) -> String {
        parts.map { part in
            switch part {
            case .literal(let text): text
            case .field: value
            }
        }.joined()
    }

    /// A JSON value as template text; nil for null.
    public static func text(of value: JSONValue) -> String? {
        switch value {
        case .null: nil
        case .string(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .integer(let number): String(number)
        case .number(let number): formatted(number)
        case .array, .object: JSONWriter.string(value)
        }
    }

    /// 42.0 → "42", 42.5 → "42.5", 1e20 → "1e+20".
    public static func formatted(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        return "\(number)"
    }

    static func percentEncoded(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                output.unicodeScalars.append("%")
                output.unicodeScalars.append(hex[Int(byte >> 4)])
                output.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return output
    }

    // MARK: Parsing

    private static func parse(_ source: String) throws(ParseError) -> [Part] {
        var parts: [Part] = []
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.literal(String(rest[..<open.lowerBound]))) }
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.range(of: "}}") else {
                throw ParseError(message: "unclosed \"{{\" in template \"\(source)\"")
            }
            parts.append(try placeholder(afterOpen[..<close.lowerBound], in: source))
            rest = afterOpen[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        return parts
    }

    private static func placeholder(_ inner: Substring, in source: String) throws(ParseError) -> Part {
        let pathText: Substring
        var fallback: JSONValue?
        if let bar = inner.firstIndex(of: "|") {
            pathText = inner[..<bar]
            fallback = try defaultValue(String(inner[inner.index(after: bar)...]).trimmingWhitespace, in: source)
        } else {
            pathText = inner
        }
        let trimmed = String(String(pathText).trimmingWhitespace)
        guard !trimmed.isEmpty else { throw ParseError(message: "empty placeholder \"{{\(inner)}}\" in template \"\(source)\"") }
        guard let path = EventPath(trimmed) else {
            throw ParseError(message: "invalid field path \"\(trimmed)\" in template \"\(source)\" (expected a dotted path like properties.total)")
        }
        return .field(path, fallback: fallback)
    }

    private static func defaultValue(_ text: Substring, in source: String) throws(ParseError) -> JSONValue {
        if let quote = text.first, quote == "\"" || quote == "'" {
            var value = ""
            var index = text.index(after: text.startIndex)
            while index < text.endIndex {
                let character = text[index]
                if character == "\\" {
                    let next = text.index(after: index)
                    guard next < text.endIndex else { break }
                    value.append(text[next])
                    index = text.index(after: next)
                    continue
                }
                if character == quote {
                    guard text.index(after: index) == text.endIndex else {
                        throw ParseError(message: "unexpected text after the default in template \"\(source)\"")
                    }
                    return .string(value)
                }
                value.append(character)
                index = text.index(after: index)
            }
            throw ParseError(message: "unterminated quoted default in template \"\(source)\"")
        }
        if let integer = Int64(text) { return .integer(integer) }
        if let first = text.first, first == "-" || first.isNumber, let number = Double(text), number.isFinite { return .number(number) }
        throw ParseError(message: "the default after \"|\" must be quoted, like {{traits.name | \"there\"}}, in template \"\(source)\"")
    }
}
