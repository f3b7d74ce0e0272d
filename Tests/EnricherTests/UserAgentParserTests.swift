import Foundation
import Testing

@testable import EnricherService

/// Unit tests of the user agent parser: typical devices, the device type, the
/// cache, the uap-core replacement rules on small inline rule files, PCRE ->
/// ICU translation, the literal prefilter and load errors.
@Suite("UserAgentParser")
struct UserAgentParserTests {
    static let shared = Result { try UserAgentParser() }
    var parser: UserAgentParser { get throws { try Self.shared.get() } }

    // MARK: Typical user agents

    @Test func iPhoneSafari() throws {
        let info = try parser.parse(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")
        #expect(info == DeviceInfo(browserFamily: "Mobile Safari", browserVersion: "17.1",
                                   osFamily: "iOS", osVersion: "17.1.2",
                                   deviceFamily: "iPhone", brand: "Apple", model: "iPhone", type: .mobile))
    }

    @Test func androidPhoneChrome() throws {
        let info = try parser.parse(
            "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36")
        #expect(info == DeviceInfo(browserFamily: "Chrome Mobile", browserVersion: "120.0.6099",
                                   osFamily: "Android", osVersion: "13",
                                   deviceFamily: "Samsung SM-S911B", brand: "Samsung", model: "SM-S911B", type: .mobile))
    }

    @Test func iPad() throws {
        let info = try parser.parse(
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1")
        #expect(info.deviceFamily == "iPad")
        #expect(info.brand == "Apple")
        #expect(info.osFamily == "iOS")
        #expect(info.osVersion == "16.6")
        #expect(info.type == .tablet)
    }

    @Test func androidTabletWithoutMobileToken() throws {
        let info = try parser.parse(
            "Mozilla/5.0 (Linux; Android 12; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36")
        #expect(info.osFamily == "Android")
        #expect(info.browserFamily == "Chrome")
        #expect(info.type == .tablet)
    }

    @Test func desktopChromeOnWindows() throws {
        let info = try parser.parse(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
        #expect(info == DeviceInfo(browserFamily: "Chrome", browserVersion: "120.0.0",
                                   osFamily: "Windows", osVersion: "10",
                                   deviceFamily: "Other", brand: nil, model: nil, type: .desktop))
    }

    @Test func windowsTabletPCTokenIsStillDesktop() throws {
        let info = try parser.parse(
            "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; SLCC2; Media Center PC 6.0; Tablet PC 2.0; rv:11.0) like Gecko")
        #expect(info.browserFamily == "IE")
        #expect(info.type == .desktop)
    }

    @Test(arguments: [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ])
    func googlebotIsBot(userAgent: String) throws {
        let info = try parser.parse(userAgent)
        #expect(info.browserFamily == "Googlebot")
        #expect(info.deviceFamily == "Spider")
        #expect(info.type == .bot)
    }

    @Test func smartTVIsNotAPhone() throws {
        let info = try parser.parse(
            "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36")
        #expect(info.type == .desktop)
    }

    @Test func emptyUserAgent() throws {
        let info = try parser.parse("")
        #expect(info == DeviceInfo.unknown)
        #expect(info.browserFamily == "Other")
        #expect(info.osFamily == "Other")
        #expect(info.deviceFamily == "Other")
        #expect(info.browserVersion == nil && info.osVersion == nil && info.brand == nil && info.model == nil)
        #expect(info.type == .desktop)
    }

    @Test func hugeUserAgentIsCutAndParsed() throws {
        let userAgent = "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0.0.0 " + String(repeating: "x", count: 200_000)
        let info = try parser.parseUncached(userAgent)
        #expect(info.browserFamily == "Chrome")
        #expect(UserAgentParser.truncated(userAgent).unicodeScalars.count == UserAgentParser.maxUserAgentLength)
    }

    // MARK: Raw uap-core fields

    @Test func rawFields() throws {
        let ua = "Mozilla/5.0 (Windows; Windows NT 5.1; rv:2.0b3pre) Gecko/20100727 Minefield/4.0.1pre"
        #expect(try parser.parseUserAgent(ua) ==
                UserAgentParser.Browser(family: "Firefox (Minefield)", major: "4", minor: "0", patch: "1pre"))
        #expect(try parser.parseOS("Mozilla/5.0 (Windows; U; Win95; en-US; rv:1.1) Gecko/20020826").family == "Windows")
        #expect(try parser.parseDevice(
            "Mozilla/5.0 (Linux; U; Android 4.2.2; de-de; PEDI_PLUS_W Build/JDQ39) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Safari/534.30")
                == UserAgentParser.Device(family: "Odys PEDI PLUS W", brand: "Odys", model: "PEDI PLUS W"))
    }

    @Test func versionsJoinThePartsThatExist() {
        #expect(UserAgentParser.Browser(family: "X", major: "1", minor: "2", patch: "3").version == "1.2.3")
        #expect(UserAgentParser.Browser(family: "X", major: "1").version == "1")
        #expect(UserAgentParser.Browser(family: "X", major: "1", minor: nil, patch: "3").version == "1")
        #expect(UserAgentParser.Browser(family: "X").version == nil)
        #expect(UserAgentParser.OperatingSystem(family: "X", major: "10", minor: "0", patch: "1", patchMinor: "2").version == "10.0.1.2")
    }

    // MARK: Cache

    @Test func cachedParseReturnsTheSameValue() throws {
        let parser = try UserAgentParser(cacheCapacity: 100)
        let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
        #expect(parser.cachedCount == 0)
        let first = parser.parse(ua)
        #expect(parser.cachedCount == 1)
        let second = parser.parse(ua)
        #expect(parser.cachedCount == 1)
        #expect(first == second)
        #expect(first == parser.parseUncached(ua))
        #expect(first.browserFamily == "Firefox")
        #expect(first.osFamily == "Linux")
    }

    @Test func cacheEvictsTheLeastRecentlyUsed() {
        let cache = UserAgentParseCache(capacity: 2)
        let a = DeviceInfo(browserFamily: "A"), b = DeviceInfo(browserFamily: "B"), c = DeviceInfo(browserFamily: "C")
        cache.insert(a, for: "a")
        cache.insert(b, for: "b")
        #expect(cache.value(for: "a") == a)  // "b" is now the least recently used
        cache.insert(c, for: "c")
        #expect(cache.count == 2)
        #expect(cache.value(for: "b") == nil)
        #expect(cache.value(for: "a") == a)
        #expect(cache.value(for: "c") == c)
        cache.insert(b, for: "a")  // replacing keeps the size
        #expect(cache.value(for: "a") == b)
        #expect(cache.count == 2)
    }

    @Test func zeroCapacityDisablesTheCache() throws {
        let parser = try UserAgentParser(cacheCapacity: 0)
        _ = parser.parse("curl/8.4.0")
        #expect(parser.cachedCount == 0)
        #expect(parser.parse("curl/8.4.0").browserFamily == "curl")
    }

    @Test func concurrentParsesAgree() async throws {
        let parser = try UserAgentParser(cacheCapacity: 8)  // small: forces evictions under contention
        let userAgents = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        ] + (0..<20).map { "TestAgent\($0)/1.\($0)" }
        let expected = userAgents.map { parser.parseUncached($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for round in 0..<50 {
                        let i = (worker * 7 + round) % userAgents.count
                        #expect(parser.parse(userAgents[i]) == expected[i])
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(parser.cachedCount <= 8)
    }

    // MARK: Encoding

    @Test func encodesCamelCaseKeys() throws {
        let info = DeviceInfo(browserFamily: "Chrome", browserVersion: "120.0.0", osFamily: "Android", osVersion: "13",
                              deviceFamily: "Samsung SM-S911B", brand: "Samsung", model: "SM-S911B", type: .mobile)
        let data = try JSONEncoder().encode(info)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["browserFamily", "browserVersion", "osFamily", "osVersion",
                                     "deviceFamily", "brand", "model", "type"])
        #expect(object["type"] as? String == "mobile")
        #expect(try JSONDecoder().decode(DeviceInfo.self, from: data) == info)
    }

    // MARK: Specification rules, on inline rule files

    static let inlineRules = #"""
        user_agent_parsers:
          - regex: '(First)/(\d+)'
          - regex: '(First|Second)/(\d+)\.(\d+)'
            family_replacement: 'Browser $1'
          - regex: 'Fixed/(\d+)'
            family_replacement: 'Fixed Name'
            v1_replacement: '9'
          - regex: '(Spaces)/( *)(\d+)'
            family_replacement: '  $1 $9  '
            v1_replacement: '$2'
            v2_replacement: '$3'
        os_parsers:
          - regex: '(Win)dows NT (\d+)\.(\d+)'
            os_replacement: '$1dows'
            os_v2_replacement: ''
        device_parsers:
          - regex: '; (PEDI)_(PLUS)_(W) Build/'
            device_replacement: '$1_$2_$3'
            brand_replacement: 'Odys'
            model_replacement: '$1 $2 $3'
          - regex: 'nokia(\w+)'
            regex_flag: 'i'
            device_replacement: 'Nokia $1'
            brand_replacement: 'Nokia'
          - regex: '(Widget)'
        """#

    @Test func replacementRules() throws {
        let parser = try UserAgentParser(regexesYAML: Self.inlineRules)
        // First matching rule wins; no replacement -> capture groups in order.
        #expect(parser.parseUserAgent("First/1.2") == .init(family: "First", major: "1"))
        // $1 in family_replacement; versions from groups 2 and 3.
        #expect(parser.parseUserAgent("Second/3.4") == .init(family: "Browser Second", major: "3", minor: "4"))
        // Literal replacements.
        #expect(parser.parseUserAgent("Fixed/5") == .init(family: "Fixed Name", major: "9"))
        // Trimmed, a missing group ($9) is empty, an all-space result is nil.
        #expect(parser.parseUserAgent("Spaces/   7") == .init(family: "Spaces", major: nil, minor: "7"))
        // Nothing matches -> Other.
        #expect(parser.parseUserAgent("Unknown/1") == .init(family: "Other"))

        // An empty replacement counts as absent: the capture group is used.
        #expect(parser.parseOS("Windows NT 6.1") == .init(family: "Windows", major: "6", minor: "1"))

        // Device: $1..$9 in all three, default model = $1, default brand = nil, regex_flag i.
        #expect(parser.parseDevice("x; PEDI_PLUS_W Build/1") == .init(family: "PEDI_PLUS_W", brand: "Odys", model: "PEDI PLUS W"))
        #expect(parser.parseDevice("NOKIAN95/1.0") == .init(family: "Nokia N95", brand: "Nokia", model: "N95"))
        #expect(parser.parseDevice("a Widget b") == .init(family: "Widget", brand: nil, model: "Widget"))
        #expect(parser.parseDevice("nothing") == .init(family: "Other"))
    }

    @Test func caseInsensitiveRulesMatchBeyondASCII() throws {
        // ICU folds U+017F LATIN SMALL LETTER LONG S to "s"; the ASCII prefilter
        // must not rule such input out.
        let parser = try UserAgentParser(regexesYAML: """
            user_agent_parsers: []
            os_parsers: []
            device_parsers:
              - regex: '(samsung)'
                regex_flag: 'i'
            """)
        #expect(parser.parseDevice("SAMSUNG").family == "SAMSUNG")
        #expect(parser.parseDevice("\u{17F}amsung").family == "\u{17F}amsung")
    }

    @Test func pcreOnlySyntaxIsTranslatedForICU() throws {
        // `[` inside a class and a `{` that is no quantifier are literals in PCRE.
        let parser = try UserAgentParser(regexesYAML: #"""
            user_agent_parsers:
              - regex: '(Bracket)\[([^[\]]+)\]'
              - regex: '(Brace)\{(\d+)}'
              - regex: '(?P<name>Named)/(\d+) (?P=name)'
            os_parsers: []
            device_parsers: []
            """#)
        #expect(parser.parseUserAgent("Bracket[12]") == .init(family: "Bracket", major: "12"))
        #expect(parser.parseUserAgent("Brace{34}") == .init(family: "Brace", major: "34"))
        #expect(parser.parseUserAgent("Named/5 Named") == .init(family: "Named", major: "5"))
    }

    // MARK: Prefilter

    @Test func prefilterLiterals() {
        /// The conditions, each a set of literals one of which must occur.
        func literals(_ pattern: String, caseInsensitive: Bool = false) -> [Set<String>] {
            UARegexAnalysis(pattern: pattern, caseInsensitive: caseInsensitive).requirement.map { set in
                Set(set.literals.map { String(decoding: $0, as: UTF8.self) })
            }
        }
        #expect(literals(#"; {0,2}(SM-[A-Z]\d+)(?: Build|\) AppleWebKit)"#) == [["SM-"], [" Build", ") AppleWebKit"]])
        // Short optional and bounded parts are spelled out with their neighbours.
        var spelled: Set<String> = []
        for prefix in [";", "; ", ";  "] {
            for model in ["G7", "M15"] {
                for suffix in [" Build", ") AppleWebKit"] { spelled.insert(prefix + model + suffix) }
            }
        }
        #expect(literals(#"; {0,2}(G7|M15)(?: Build|\) AppleWebKit)"#) == [spelled])
        #expect(literals(#"(Opera Mini)(?:/att|)/?(\d+|)"#) == [["Opera Mini", "Opera Mini/", "Opera Mini/att", "Opera Mini/att/"]])
        #expect(literals(#"(Foo|Bar)x?/(\d+)"#) == [["Foo/", "Foox/", "Bar/", "Barx/"]])
        #expect(literals(#"(E[34]|LS)\d"#) == [["E3", "E4", "LS"]])
        #expect(literals(#"Nokia"#, caseInsensitive: true) == [["nokia"]])
        #expect(literals(#"[Ss][Pp]ider"#) == [["spider"]])
        #expect(literals(#"(?:Foo)?Ba(r)*"#) == [["Ba", "FooBa"]])
        // A branch without any literal, or a class too large to spell out: no condition.
        #expect(literals(#"(Foo|\d+)"#) == [])
        #expect(literals(#"[A-Z]x"#) == [])
        // `a+`: one `a` is certain.
        #expect(literals(#"Xy+z"#) == [["Xy"]])
    }

    @Test func prefilterNeverSkipsAMatchingRule() throws {
        // The prefilter may only skip rules that cannot match: parse a sample
        // with and without it and compare.
        let parser = try self.parser
        let samples = [
            "Mozilla/5.0 (Linux; Android 10; SM-G960F Build/QP1A.190711.020; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/86.0.4240.99 Mobile Safari/537.36",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54",
            "NokiaN95/1.0 (12.0.013) SymbianOS/9.2 Series60/3.1 Profile/MIDP-2.0 Configuration/CLDC-1.1",
        ]
        for ua in samples {
            let input = UAMatchInput(ua)
            for list in [parser.regexes.userAgent, parser.regexes.os, parser.regexes.device] {
                var candidates = Set<Int>()
                list.prefilter.forEachCandidate(in: input) { candidates.insert($0); return false }
                let range = NSRange(location: 0, length: input.utf16Length)
                for (index, rule) in list.rules.enumerated() where rule.regex.firstMatch(in: ua, range: range) != nil {
                    #expect(candidates.contains(index), "rule \(index) '\(rule.pattern)' matches '\(ua)' but was filtered out")
                }
            }
        }
    }

    @Test func nearlyEveryRuleHasAPrefilter() throws {
        let regexes = try parser.regexes
        for list in [regexes.userAgent, regexes.os, regexes.device] {
            #expect(list.count > 100)
            #expect(list.prefilter.ruleCount == list.count)
            #expect(list.prefilter.unconditionalRuleCount * 50 < list.count,
                    "\(list.prefilter.unconditionalRuleCount) of \(list.count) rules have no literal condition")
        }
    }

    // MARK: Load errors

    @Test func missingFileNamesThePath() {
        let error = #expect(throws: UserAgentRegexesError.self) {
            try UserAgentParser(regexesPath: "/nonexistent/regexes.yaml")
        }
        #expect(error?.description.contains("/nonexistent/regexes.yaml") == true)
    }

    @Test func invalidYAMLIsReported() {
        let error = #expect(throws: UserAgentRegexesError.self) {
            try UserAgentParser(regexesYAML: "user_agent_parsers: [unclosed", path: "bad.yaml")
        }
        #expect(error?.description.contains("bad.yaml") == true)
        #expect(throws: UserAgentRegexesError.self) {
            try UserAgentParser(regexesYAML: "just a string", path: "scalar.yaml")
        }
        #expect(throws: UserAgentRegexesError.self) {
            try UserAgentParser(regexesYAML: "user_agent_parsers: []\nos_parsers: []\n", path: "no-device.yaml")
        }
    }

    @Test func badRegexNamesThePattern() {
        let error = #expect(throws: UserAgentRegexesError.self) {
            try UserAgentParser(regexesYAML: """
                user_agent_parsers:
                  - regex: 'Good/(\\d+)'
                  - regex: 'Bad/(\\d+'
                os_parsers: []
                device_parsers: []
                """, path: "broken.yaml")
        }
        let description = error?.description ?? ""
        #expect(description.contains("broken.yaml"))
        #expect(description.contains("user_agent_parsers[1]"))
        #expect(description.contains("Bad/(\\d+"))
    }
}
