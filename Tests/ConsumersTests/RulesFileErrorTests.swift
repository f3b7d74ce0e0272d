import Testing
@testable import ConsumersService

/// Every way a rules file can be wrong stops loading with a message that names
/// the file, the rule and the field.
@Suite struct RulesFileErrorTests {
    /// A file with a valid first rule and the given second rule (its `- ` included).
    static func file(secondRule: String) -> String {
        """
        rules:
          - name: first
            match: {type: track}
            actions: [{push: {title: ok}}]
        \(secondRule.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
        """
    }

    /// A second rule named big-order with this match and a valid action.
    static func match(_ match: String) -> String {
        file(secondRule: "- name: big-order\n  match: \(match)\n  actions: [{push: {title: ok}}]")
    }

    /// A second rule named big-order with a valid match and this action.
    static func action(_ action: String) -> String {
        file(secondRule: "- name: big-order\n  match: {}\n  actions:\n    - \(action)")
    }

    static let cases: [(yaml: String, message: String)] = [
        // The issue's own example.
        (match("{properties: {total: {gtx: 100}}}"),
         #"rules.yaml: rule "big-order" (#2): match.properties.total: unknown operator "gtx" (expected equals, in, gt, gte, lt, lte, exists)"#),

        // Rules themselves.
        (file(secondRule: "- match: {}\n  actions: [{push: {title: ok}}]"),
         #"rules.yaml: rule #2: missing required key "name""#),
        (file(secondRule: "- name: big order\n  match: {}\n  actions: [{push: {title: ok}}]"),
         #"rules.yaml: rule #2: name: invalid rule name "big order" (use letters, digits, -, _ and ., at most 100, starting with a letter or digit)"#),
        (file(secondRule: "- name: first\n  match: {}\n  actions: [{push: {title: ok}}]"),
         #"rules.yaml: rule "first" (#2): name: the name "first" is already used by rule #1"#),
        (file(secondRule: "- name: big-order\n  actions: [{push: {title: ok}}]"),
         #"rules.yaml: rule "big-order" (#2): missing required key "match""#),
        (file(secondRule: "- name: big-order\n  match: {}"),
         #"rules.yaml: rule "big-order" (#2): missing required key "actions""#),
        (file(secondRule: "- name: big-order\n  match: {}\n  actions: []"),
         #"rules.yaml: rule "big-order" (#2): actions: a rule needs at least one action"#),
        (file(secondRule: "- name: big-order\n  match: {}\n  actions: {push: {title: ok}}"),
         #"rules.yaml: rule "big-order" (#2): actions: expected a list, found a mapping"#),
        (file(secondRule: "- name: big-order\n  matches: {}\n  actions: [{push: {title: ok}}]"),
         #"rules.yaml: rule "big-order" (#2): unknown key "matches" (did you mean "match"?)"#),
        (file(secondRule: "- name: big-order\n  enabled: maybe\n  match: {}\n  actions: [{push: {title: ok}}]"),
         #"rules.yaml: rule "big-order" (#2): enabled: expected true or false, found "maybe""#),
        (file(secondRule: "- just text"),
         #"rules.yaml: rule #2: expected a rule (a mapping with name, match and actions), found "just text""#),

        // Match.
        (match("{typ: track}"),
         #"rules.yaml: rule "big-order" (#2): match: unknown key "typ" (did you mean "type"?)"#),
        (match("{colour: red}"),
         #"rules.yaml: rule "big-order" (#2): match: unknown key "colour" (expected type, event, app, properties, fields, geo, device)"#),
        (match("{type: trak}"),
         #"rules.yaml: rule "big-order" (#2): match.type: unknown event type "trak" (expected track, identify, page, screen, group, alias)"#),
        (match("{event: [Order Completed, '']}"),
         #"rules.yaml: rule "big-order" (#2): match.event: must not be empty"#),
        (match("{event: []}"),
         #"rules.yaml: rule "big-order" (#2): match.event: expected at least one value"#),
        (match("{app: {name: demo}}"),
         #"rules.yaml: rule "big-order" (#2): match.app: expected text, found a mapping"#),
        (match("{properties: [total]}"),
         #"rules.yaml: rule "big-order" (#2): match.properties: expected a mapping, found a list"#),
        (match("{properties: {total: {gt: lots}}}"),
         #"rules.yaml: rule "big-order" (#2): match.properties.total.gt: expected a number, found "lots""#),
        (match("{properties: {total: {lte: [1]}}}"),
         #"rules.yaml: rule "big-order" (#2): match.properties.total.lte: expected a single value, found a list"#),
        (match("{properties: {total: {in: 5}}}"),
         #"rules.yaml: rule "big-order" (#2): match.properties.total.in: expected a list, found "5""#),
        (match("{properties: {total: {in: []}}}"),
         #"rules.yaml: rule "big-order" (#2): match.properties.total.in: expected at least one value"#),
        (match("{properties: {total: {in: [[1]]}}}"),
         #"rules.yaml: rule "big-order" (#2): match.properties.total.in[0]: expected a single value, found a list"#),
        (match("{properties: {coupon: {exists: 1}}}"),
         #"rules.yaml: rule "big-order" (#2): match.properties.coupon.exists: expected true or false, found "1""#),
        (match("{properties: {coupon: {exists: false, equals: x}}}"),
         #"rules.yaml: rule "big-order" (#2): match.properties.coupon: exists: false cannot be combined with other operators (it would never match)"#),
        (match("{properties: {total: {gt: 100, lt: 10}}}"),
         #"rules.yaml: rule "big-order" (#2): match.properties.total: the range is empty (no number is > 100 and < 10)"#),
        (match("{properties: {total: {}}}"),
         #"rules.yaml: rule "big-order" (#2): match.properties.total: expected at least one operator (equals, in, gt, gte, lt, lte, exists)"#),
        (match("{properties: {total..x: 1}}"),
         #"rules.yaml: rule "big-order" (#2): match.properties: invalid property path "total..x""#),
        (match("{fields: {context.traits.plan: {has: pro}}}"),
         #"rules.yaml: rule "big-order" (#2): match.fields.context.traits.plan: unknown operator "has" (expected equals, in, gt, gte, lt, lte, exists)"#),
        (match("{geo: {countries: [DE]}}"),
         #"rules.yaml: rule "big-order" (#2): match.geo: unknown key "countries" (did you mean "country"?)"#),
        (match("{geo: {country: [DE, Germany]}}"),
         #"rules.yaml: rule "big-order" (#2): match.geo.country: "Germany" is not a two-letter country code (like DE or US)"#),
        (match("{device: {type: phone}}"),
         #"rules.yaml: rule "big-order" (#2): match.device.type: unknown device type "phone" (expected mobile, tablet, desktop, bot)"#),
        (match("{device: {model: iPhone}}"),
         #"rules.yaml: rule "big-order" (#2): match.device: unknown key "model" (expected type, os)"#),

        // Actions.
        (action("{sms: {text: hi}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0]: unknown key "sms" (expected push, webhook)"#),
        (action("{push: {title: a}, webhook: {url: 'https://x.test'}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0]: an action is a mapping with exactly one key: push or webhook"#),
        (action("{push: {sound: default}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push: a push needs at least one of title, body or data"#),
        (action("{push: {title: ok, boddy: x}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push: unknown key "boddy" (did you mean "body"?)"#),
        (action("{push: {title: ok, collapse_key: x}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push: unknown key "collapse_key" (did you mean "collapseKey"?)"#),
        (action("{push: {title: 'Hi {{traits.name'}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.title: unclosed "{{" in template "Hi {{traits.name""#),
        (action("{push: {title: ok, data: {id: '{{properties..id}}'}}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.data.id: invalid field path "properties..id" in template "{{properties..id}}" (expected a dotted path like properties.total)"#),
        (action("{push: {title: ok, badge: -1}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.badge: must not be negative"#),
        (action("{push: {title: ok, badge: many}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.badge: expected a whole number or a template like "{{properties.unread}}", found "many""#),
        (action("{push: {title: ok, priority: urgent}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.priority: unknown priority "urgent" (expected high or normal)"#),
        (action("{push: {title: ok, ttl: soon}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.ttl: invalid duration "soon" (expected whole seconds or a duration like 30s, 30m, 24h, 7d or 1h30m)"#),
        (action("{push: {title: ok, platforms: [ios, web]}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.platforms: unknown platform "web" (expected ios, android)"#),
        (action("{push: {title: ok, platforms: [ios, ios]}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.platforms: platform "ios" is listed twice"#),
        (action("{push: {title: ok, cap: {max: 0, per: 24h}}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.cap.max: must be at least 1"#),
        (action("{push: {title: ok, cap: {max: 3}}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.cap: missing required key "per""#),
        (action("{push: {title: ok, cap: {max: 3, per: 24}}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.cap.per: invalid duration "24" (expected a duration like 30s, 30m, 24h, 7d or 1h30m)"#),
        (action("{push: {title: ok, cap: {max: 3, per: 1 day}}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.cap.per: invalid duration "1 day" (expected a duration like 30s, 30m, 24h, 7d or 1h30m)"#),
        (action("{push: {title: ok, cap: {max: 3, per: 24h, burst: 2}}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.cap: unknown key "burst" (expected max, per)"#),
        (action("{push: {title: ok, cap: {max: three, per: 24h}}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].push.cap.max: expected a whole number, found "three""#),
        (action("{webhook: {method: POST}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].webhook: missing required key "url""#),
        (action("{webhook: {url: 'ftp://files.example.com/x'}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].webhook.url: invalid URL "ftp://files.example.com/x": the scheme must be http or https"#),
        (action("{webhook: {url: 'hooks.example.com/x'}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].webhook.url: invalid URL "hooks.example.com/x": the scheme must be http or https"#),
        (action("{webhook: {url: 'https:///x'}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].webhook.url: invalid URL "https:///x": no host"#),
        (action("{webhook: {url: 'https://exa mple.com/'}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].webhook.url: invalid URL "https://exa mple.com/": contains white space"#),
        (action("{webhook: {url: 'https://{{properties.host}}/x'}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].webhook.url: invalid URL "https://{{properties.host}}/x": placeholders may only appear in the path, query or fragment"#),
        (action("{webhook: {url: 'https://user:pw@example.com/'}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].webhook.url: invalid URL "https://user:pw@example.com/": credentials belong in headers, not in the URL"#),
        (action("{webhook: {url: 'https://x.test/', method: FETCH}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].webhook.method: unknown method "FETCH" (expected GET, POST, PUT, PATCH, DELETE)"#),
        (action("{webhook: {url: 'https://x.test/', method: GET, body: hi}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].webhook.body: a GET request has no body"#),
        (action("{webhook: {url: 'https://x.test/', headers: {'Bad Header': x}}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].webhook.headers: invalid header name "Bad Header""#),
        (action("{webhook: {url: 'https://x.test/', headers: {X-A: a, x-a: b}}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].webhook.headers: header "x-a" is given twice"#),
        (action("{webhook: {url: 'https://x.test/', body: {text: '{{oops'}}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].webhook.body.text: unclosed "{{" in template "{{oops""#),
        (action("{webhook: {url: 'https://x.test/', timeout: 5}}"),
         #"rules.yaml: rule "big-order" (#2): actions[0].webhook: unknown key "timeout" (expected url, method, headers, body, cap, signingKey)"#),

        // The file as a whole.
        ("", #"rules.yaml: the file is empty (expected a mapping with a "rules" list)"#),
        ("- name: a", #"rules.yaml: expected a mapping with a "rules" list, found a list"#),
        ("rule:\n  - name: a", #"rules.yaml: unknown top-level key "rule" (did you mean "rules"?) (expected rules; keys starting with x- are free for anchors)"#),
        ("x-shared: 1", #"rules.yaml: missing the top-level key "rules""#),
        ("rules: {name: a}", #"rules.yaml: rules: expected a list, found a mapping"#),
        ("rules:\n  - name: a\n    name: b", #"rules.yaml: duplicate key "name" at line 2"#),
        ("rules: [", "rules.yaml: invalid YAML at line 2, column 1: did not find expected node content"),
        ("rules:\n  - name: a\n   match: {}", "rules.yaml: invalid YAML at line 3, column 4: did not find expected '-' indicator"),
    ]

    @Test(arguments: cases)
    func malformedFileNamesRuleAndField(yaml: String, message: String) {
        do {
            let rules = try RuleSet(yaml: yaml, file: "rules.yaml")
            Issue.record("loaded \(rules.rules.count) rules, expected: \(message)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func errorsCarryTheirParts() {
        do {
            _ = try RuleSet(yaml: Self.match("{properties: {total: {gtx: 100}}}"), file: "rules.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.file == "rules.yaml")
            #expect(error.ruleName == "big-order")
            #expect(error.ruleNumber == 2)
            #expect(error.field == "match.properties.total")
            #expect(error.line == 6)
            #expect(error.descriptionWithPosition.hasSuffix("(line 6, column 39)"))
        }
    }

    @Test func aMistakeInAnyRuleRefusesTheWholeFile() {
        // The valid first rule does not make a half-loaded set.
        #expect(throws: RulesFileError.self) { try RuleSet(yaml: Self.match("{typ: track}")) }
    }
}
