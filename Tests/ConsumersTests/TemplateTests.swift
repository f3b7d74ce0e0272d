import BeaconCore
import Testing
@testable import ConsumersService

@Suite struct TemplateTests {
    let order = RulesFixture.order

    func render(_ source: String, _ event: JSONValue? = nil) throws -> String {
        try Template(source).render(event ?? order)
    }

    @Test func literalTextStaysAsIs() throws {
        #expect(try render("Hello") == "Hello")
        #expect(try render("") == "")
        #expect(try render("a } b }} c") == "a } b }} c")
        #expect(try Template("Hello").isConstant)
    }

    @Test func nestedPaths() throws {
        #expect(try render("{{properties.currency}}") == "EUR")
        #expect(try render("{{enrichment.geo.city}}") == "Berlin")
        #expect(try render("{{ context.device.token }}") == "tok")
        #expect(try render("{{properties.items.0.sku}}") == "A1")
        #expect(try render("{{event}} by {{userId}} in {{enrichment.geo.countryCode}}") == "Order Completed by u1 in DE")
        #expect(try Template("{{a.b}} {{c}}").paths.map(\.description) == ["a.b", "c"])
    }

    @Test func numbersWithoutTrailingZero() throws {
        #expect(try render("{{properties.total}}") == "42.5")
        #expect(try render("{{properties.count}}") == "3")
        #expect(try render("{{properties.items.0.price}}") == "10")  // 10.0 in the JSON
        #expect(try render("{{v}}", ["v": .number(-2.0)]) == "-2")
        #expect(try render("{{v}}", ["v": .number(0.1)]) == "0.1")
        #expect(try render("{{v}}", ["v": .number(1e20)]) == "1e+20")
        #expect(try render("{{v}}", ["v": .integer(9_007_199_254_740_993)]) == "9007199254740993")
    }

    @Test func otherTypes() throws {
        #expect(try render("{{properties.flag}}") == "true")
        #expect(try render("{{properties.cart}}") == #"{"items":2}"#)
        #expect(try render("{{v}}", ["v": [1, "a"]]) == #"[1,"a"]"#)
    }

    @Test func missingAndNullRenderEmpty() throws {
        #expect(try render("[{{properties.nothing}}]") == "[]")
        #expect(try render("[{{properties.note}}]") == "[]")
        #expect(try render("[{{properties.total.deeper}}]") == "[]")
        #expect(try render("[{{properties.items.5.sku}}]") == "[]")
        #expect(try render("Hi {{traits.name}}", ["type": "track"]) == "Hi ")
    }

    @Test func defaults() throws {
        #expect(try render("Hi {{traits.name | \"there\"}}") == "Hi Ada")
        #expect(try render("Hi {{traits.name | \"there\"}}", ["type": "track"]) == "Hi there")
        #expect(try render("Hi {{traits.name|'there'}}", ["traits": ["name": ""]]) == "Hi there")
        #expect(try render("Hi {{traits.name | \"there\"}}", ["traits": ["name": nil]]) == "Hi there")
        #expect(try render("{{properties.missing | 0}}") == "0")
        #expect(try render("{{properties.missing | 2.50}}") == "2.5")
        #expect(try render(#"{{a | "say \"hi\" | ok"}}"#, [:]) == #"say "hi" | ok"#)
        #expect(try render("{{a | \"\"}}", [:]) == "")
        // A default never replaces a value that is there, even 0 or false.
        #expect(try render("{{v | \"x\"}}", ["v": 0]) == "0")
        #expect(try render("{{v | \"x\"}}", ["v": false]) == "false")
    }

    @Test func traitsFallBackToContextTraits() throws {
        #expect(try render("{{traits.plan}}") == "pro")
        #expect(try render("{{traits.name}}", ["traits": ["name": "Top"], "context": ["traits": ["name": "Ctx"]]]) == "Top")
    }

    @Test func malformedTemplatesAreRefused() {
        let cases: [(String, String)] = [
            ("Hi {{traits.name", "unclosed \"{{\""),
            ("{{}}", "empty placeholder"),
            ("{{ | \"x\" }}", "empty placeholder"),
            ("{{a..b}}", "invalid field path \"a..b\""),
            ("{{a b}}", "invalid field path \"a b\""),
            ("{{a | there}}", "must be quoted"),
            ("{{a | \"there}}", "unterminated quoted default"),
            ("{{a | \"x\" y}}", "unexpected text after the default"),
        ]
        for (source, expected) in cases {
            #expect(throws: Template.ParseError.self, "\(source)") { try Template(source) }
            do {
                _ = try Template(source)
            } catch {
                #expect(error.message.contains(expected), "\(source): \(error.message)")
            }
        }
    }

    @Test func urlEscapingAppliesToValuesOnly() throws {
        let template = try Template("https://x.test/u/{{userId}}?q={{properties.q}}")
        let event: JSONValue = ["userId": "a/b c", "properties": ["q": "é&x=1"]]
        #expect(template.render(event, escaping: .urlComponent) == "https://x.test/u/a%2Fb%20c?q=%C3%A9%26x%3D1")
    }

    @Test func jsonTemplatesKeepTypesAndEscape() throws {
        let rules = try RulesFixture.ruleSet("""
            rules:
              - name: r
                match: {}
                actions:
                  - webhook:
                      url: https://x.test/
                      body:
                        text: "{{traits.name}} said \\"hi\\"\\n{{properties.currency}}"
                        total: "{{properties.total}}"
                        cart: "{{properties.cart}}"
                        missing: "{{properties.missing}}"
                        seats: "{{properties.missing | 1}}"
                        label: "{{properties.missing | \\"none\\"}}"
                        fixed: [1, true, null, text]
            """)
        let webhook = try #require(rules.rules[0].webhookActions.first)
        let body = try JSONParser.parse(try #require(webhook.render(order).body))
        #expect(body == [
            "text": "Ada said \"hi\"\nEUR", "total": 42.5, "cart": ["items": 2], "missing": nil, "seats": 1, "label": "none",
            "fixed": [1, true, nil, "text"],
        ])
    }
}
