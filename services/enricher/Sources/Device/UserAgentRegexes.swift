import Foundation
import Yams

// Loads uap-core's regexes.yaml and compiles every rule once.
//
// The file has three lists, `user_agent_parsers`, `os_parsers` and
// `device_parsers`; each entry is a `regex`, an optional `regex_flag: 'i'` and
// optional replacement templates (see docs/specification.md in uap-core).

/// Why regexes.yaml could not be loaded. The description names the file, and
/// for a bad entry its list, index and pattern.
public enum UserAgentRegexesError: Error, CustomStringConvertible, Sendable, Equatable {
    case unreadable(path: String, reason: String)
    case invalidYAML(path: String, reason: String)
    case invalidEntry(path: String, section: String, index: Int, reason: String)
    case invalidRegex(path: String, section: String, index: Int, pattern: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read uap-core regexes \(path): \(reason)"
        case let .invalidYAML(path, reason):
            return "uap-core regexes \(path) is not valid: \(reason)"
        case let .invalidEntry(path, section, index, reason):
            return "uap-core regexes \(path): \(section)[\(index)]: \(reason)"
        case let .invalidRegex(path, section, index, pattern, reason):
            return "uap-core regexes \(path): \(section)[\(index)]: regex '\(pattern)' does not compile: \(reason)"
        }
    }
}

/// A `*_replacement` template, split once into literal text and `$1`...`$9`
/// references.
struct UAReplacementTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case text(String)
        case group(Int)
    }

    let parts: [Part]

    init(_ template: String) {
        var parts: [Part] = []
        var text = ""
        var scalars = template.unicodeScalars[...]
        while let scalar = scalars.popFirst() {
            if scalar == "$", let digit = scalars.first, ("1"..."9").contains(digit) {
                scalars.removeFirst()
                if !text.isEmpty { parts.append(.text(text)) }
                text = ""
                parts.append(.group(Int(digit.value - 48)))
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        if !text.isEmpty { parts.append(.text(text)) }
        self.parts = parts
    }

    /// The template that stands for "capture group n" when a rule has no replacement.
    static func group(_ n: Int) -> UAReplacementTemplate { UAReplacementTemplate("$\(n)") }
}

/// One compiled rule: the regex, its prefilter and one template per output field.
struct UARegexRule: @unchecked Sendable {
    // NSRegularExpression is immutable after creation and documented thread-safe;
    // swift-corelibs-foundation matches on a private clone when it is contended.
    let regex: NSRegularExpression
    let requirement: [UALiteralSet]
    /// Output fields in the section's order (see `UARegexSection.fields`); nil = the field stays nil.
    let templates: [UAReplacementTemplate?]
    let pattern: String
}

/// The three sections of regexes.yaml.
enum UARegexSection: String, CaseIterable, Sendable {
    case userAgent = "user_agent_parsers"
    case os = "os_parsers"
    case device = "device_parsers"

    /// (replacement key, default when the key is absent) for each output field, in order.
    var fields: [(key: String, fallback: UAReplacementTemplate?)] {
        switch self {
        case .userAgent:  // family, major, minor, patch, patch_minor
            return [("family_replacement", .group(1)), ("v1_replacement", .group(2)),
                    ("v2_replacement", .group(3)), ("v3_replacement", .group(4)),
                    ("v4_replacement", .group(5))]
        case .os:  // family, major, minor, patch, patch_minor
            return [("os_replacement", .group(1)), ("os_v1_replacement", .group(2)),
                    ("os_v2_replacement", .group(3)), ("os_v3_replacement", .group(4)),
                    ("os_v4_replacement", .group(5))]
        case .device:  // family, brand, model
            return [("device_replacement", .group(1)), ("brand_replacement", nil),
                    ("model_replacement", .group(1))]
        }
    }
}

/// The rules of one section, in file order, with their prefilters.
struct UARuleList: Sendable {
    let rules: [UARegexRule]
    let prefilter: UAPrefilterTable

    init(_ rules: [UARegexRule]) {
        self.rules = rules
        var prefilter = UAPrefilterTable()
        for rule in rules { prefilter.append(rule.requirement) }
        self.prefilter = prefilter
    }

    var count: Int { rules.count }
}

/// All rules of a regexes.yaml, compiled.
struct UserAgentRegexes: Sendable {
    let path: String
    let userAgent: UARuleList
    let os: UARuleList
    let device: UARuleList

    init(path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw UserAgentRegexesError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        try self.init(yaml: text, path: path)
    }

    init(yaml text: String, path: String) throws {
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw UserAgentRegexesError.invalidYAML(path: path, reason: "\(error)")
        }
        guard let document = root as? [String: Any] else {
            throw UserAgentRegexesError.invalidYAML(path: path, reason: "the top level is not a mapping")
        }
        func compile(_ section: UARegexSection) throws -> UARuleList {
            guard let entries = document[section.rawValue] else {
                throw UserAgentRegexesError.invalidYAML(path: path, reason: "no `\(section.rawValue)` list")
            }
            guard let list = entries as? [Any] else {
                throw UserAgentRegexesError.invalidYAML(path: path, reason: "`\(section.rawValue)` is not a list")
            }
            return UARuleList(try list.enumerated().map { index, entry in
                try Self.compileRule(entry, section: section, index: index, path: path)
            })
        }
        self.path = path
        userAgent = try compile(.userAgent)
        os = try compile(.os)
        device = try compile(.device)
    }

    private static func compileRule(_ entry: Any, section: UARegexSection, index: Int, path: String) throws -> UARegexRule {
        func fail(_ reason: String) -> UserAgentRegexesError {
            .invalidEntry(path: path, section: section.rawValue, index: index, reason: reason)
        }
        guard let mapping = entry as? [String: Any] else { throw fail("entry is not a mapping") }
        func string(_ key: String) throws -> String? {
            switch mapping[key] {
            case nil, is NSNull: return nil
            case let value as String: return value
            case let value as Int: return String(value)
            case let value as Double: return String(value)
            case let value as Bool: return String(value)
            case let value?: throw fail("`\(key)` is not a string: \(value)")
            }
        }
        guard let pattern = try string("regex"), !pattern.isEmpty else { throw fail("no `regex`") }
        let flag = try string("regex_flag")
        guard flag == nil || flag == "i" else { throw fail("unknown regex_flag '\(flag!)'") }
        let caseInsensitive = flag == "i"

        let analysis = UARegexAnalysis(pattern: pattern, caseInsensitive: caseInsensitive)
        let regex: NSRegularExpression
        do {
            regex = try NSRegularExpression(pattern: analysis.icuPattern,
                                            options: caseInsensitive ? [.caseInsensitive] : [])
        } catch {
            throw UserAgentRegexesError.invalidRegex(path: path, section: section.rawValue, index: index,
                                                     pattern: pattern, reason: "\(error.localizedDescription)")
        }
        let templates = try section.fields.map { field -> UAReplacementTemplate? in
            // An empty replacement counts as absent, as in the reference implementations.
            if let replacement = try string(field.key), !replacement.isEmpty {
                return UAReplacementTemplate(replacement)
            }
            return field.fallback
        }
        return UARegexRule(regex: regex, requirement: analysis.requirement, templates: templates, pattern: pattern)
    }
}
