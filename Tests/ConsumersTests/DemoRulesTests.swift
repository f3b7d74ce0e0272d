import BeaconCore
import Foundation
import Testing
@testable import ConsumersService

/// The rules `make run` starts with must load and do what their comment says.
@Suite struct DemoRulesTests {
    @Test func theDemoRulesTurnHelloIntoAPush() throws {
        let path = try RulesFixture.exampleFilePath().replacingOccurrences(of: "rules.example.yaml", with: "rules.demo.yaml")
        let rules = try RuleSet.load(path: path)
        let event: JSONValue = [
            "type": "track", "event": "Hello", "userId": "u1", "properties": ["x": 1],
            "context": ["traits": ["name": "Ada"]], "enrichment": ["geo": ["city": "London"]],
        ]
        let matching = rules.matching(event)
        #expect(matching.map(\.name) == ["hello-push"])
        guard case .push(let push)? = matching.first?.actions.first else { Issue.record("expected a push action"); return }
        let rendered = push.render(event)
        #expect(rendered.title == "Hello Ada")
        #expect(rendered.body == "x is 1, sent from London")
    }
}
