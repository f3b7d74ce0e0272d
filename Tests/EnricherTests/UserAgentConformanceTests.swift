import Foundation
import Testing
import Yams

@testable import EnricherService

/// Runs the user agent parser over every test corpus Debian's uap-core package
/// ships (/usr/share/uap-core/tests and /usr/share/uap-core/test_resources) and
/// compares exactly the fields each case gives (family, major, minor, patch,
/// patch_minor, brand, model). A null expectation means nil, and so does an
/// empty one (`patch_minor: ''`): the specification turns empty results into
/// "not defined". Each file must pass at least 99.5% of its cases; the pass
/// rate of each is printed.
@Suite("uap-core conformance")
struct UserAgentConformanceTests {
    static let uapCore = "/usr/share/uap-core"
    static let requiredPassRate = 0.995

    enum Parser: String, Sendable {
        case userAgent, os, device
    }

    struct Corpus: Sendable, CustomTestStringConvertible {
        let path: String
        let parser: Parser
        var name: String { (path as NSString).lastPathComponent }
        var testDescription: String { name }
    }

    static let corpora: [Corpus] = [
        Corpus(path: "tests/test_ua.yaml", parser: .userAgent),
        Corpus(path: "tests/test_os.yaml", parser: .os),
        Corpus(path: "tests/test_device.yaml", parser: .device),
        Corpus(path: "test_resources/firefox_user_agent_strings.yaml", parser: .userAgent),
        Corpus(path: "test_resources/opera_mini_user_agent_strings.yaml", parser: .userAgent),
        Corpus(path: "test_resources/pgts_browser_list.yaml", parser: .userAgent),
        Corpus(path: "test_resources/podcasting_user_agent_strings.yaml", parser: .userAgent),
        Corpus(path: "test_resources/additional_os_tests.yaml", parser: .os),
    ]

    /// One parser for all corpora: loading and compiling the rules once.
    static let sharedParser = Result { try UserAgentParser(regexesPath: "\(uapCore)/regexes.yaml", cacheCapacity: 0) }

    struct Case {
        let userAgent: String
        /// Expected value per field name, in the file's order; nil = expected null or empty.
        let expected: [(field: String, value: String?)]
    }

    /// Reads `test_cases` through Yams' node API, keeping every scalar as the
    /// string it is (a version "1.10" must not become a number).
    static func loadCases(_ path: String) throws -> [Case] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let cases = try Yams.compose(yaml: text)?["test_cases"]?.sequence else {
            throw ConformanceError.malformed(path, "no test_cases list")
        }
        return try cases.map { node in
            guard let mapping = node.mapping else { throw ConformanceError.malformed(path, "a case is not a mapping") }
            var userAgent: String?
            var expected: [(String, String?)] = []
            for (key, value) in mapping {
                guard let field = key.string else { continue }
                let scalar = value.scalar.flatMap { scalar -> String? in
                    let isNull = scalar.style == .plain && ["~", "null", "Null", "NULL"].contains(scalar.string)
                    return isNull || scalar.string.isEmpty ? nil : scalar.string
                }
                if field == "user_agent_string" {
                    userAgent = scalar ?? ""
                } else {
                    expected.append((field, scalar))
                }
            }
            guard let userAgent else { throw ConformanceError.malformed(path, "a case has no user_agent_string") }
            return Case(userAgent: userAgent, expected: expected)
        }
    }

    enum ConformanceError: Error, CustomStringConvertible {
        case malformed(String, String)
        case unknownField(String, String)
        var description: String {
            switch self {
            case let .malformed(path, reason): return "\(path): \(reason)"
            case let .unknownField(path, field): return "\(path): unexpected field '\(field)'"
            }
        }
    }

    /// The parser's value for each field a case names.
    static func actual(_ parser: UserAgentParser, _ kind: Parser, _ userAgent: String) -> [String: String?] {
        switch kind {
        case .userAgent:
            let b = parser.parseUserAgent(userAgent)
            return ["family": b.family, "major": b.major, "minor": b.minor, "patch": b.patch, "patch_minor": b.patchMinor]
        case .os:
            let o = parser.parseOS(userAgent)
            return ["family": o.family, "major": o.major, "minor": o.minor, "patch": o.patch, "patch_minor": o.patchMinor]
        case .device:
            let d = parser.parseDevice(userAgent)
            return ["family": d.family, "brand": d.brand, "model": d.model]
        }
    }

    @Test("corpus", arguments: corpora)
    func corpus(_ corpus: Corpus) throws {
        let path = "\(Self.uapCore)/\(corpus.path)"
        try #require(FileManager.default.fileExists(atPath: path),
                     "\(path) is missing: install Debian's uap-core package (apt-get install uap-core)")
        let parser = try Self.sharedParser.get()
        let cases = try Self.loadCases(path)
        try #require(!cases.isEmpty, "\(path) has no test cases")

        let started = ContinuousClock.now
        var passed = 0
        var mismatches: [String] = []
        for testCase in cases {
            let actual = Self.actual(parser, corpus.parser, testCase.userAgent)
            var wrong: [String] = []
            for (field, expected) in testCase.expected {
                guard let value = actual[field] else {
                    throw ConformanceError.unknownField(path, field)
                }
                if value != expected {
                    wrong.append("\(field): expected \(expected.map { "'\($0)'" } ?? "nil"), got \(value.map { "'\($0)'" } ?? "nil")")
                }
            }
            if wrong.isEmpty {
                passed += 1
            } else {
                mismatches.append("'\(testCase.userAgent)': " + wrong.joined(separator: ", "))
            }
        }
        let elapsed = (ContinuousClock.now - started).components
        let milliseconds = elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
        let rate = Double(passed) / Double(cases.count)
        print("uap-core conformance: \(corpus.name) \(passed)/\(cases.count) "
              + String(format: "%.2f%%", rate * 100) + " (\(milliseconds) ms)")
        // UAP_CONFORMANCE_VERBOSE=1 lists every mismatch, passing or not.
        if ProcessInfo.processInfo.environment["UAP_CONFORMANCE_VERBOSE"] != nil {
            for mismatch in mismatches { print("  mismatch \(corpus.name): \(mismatch)") }
        }
        #expect(rate >= Self.requiredPassRate, """
            \(corpus.name): \(passed)/\(cases.count) cases pass, below \(Self.requiredPassRate * 100)%. First mismatches:
            \(mismatches.prefix(10).joined(separator: "\n"))
            """)
    }
}
