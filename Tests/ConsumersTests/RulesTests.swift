import BeaconCore
import Foundation
import Testing
@testable import ConsumersService

@Suite struct RulesTests {
    // MARK: The example file

    @Test func exampleFileLoadsWithEveryFeature() throws {
        let path = try RulesFixture.exampleFilePath()
        let rules = try RuleSet.load(path: path)
        #expect(rules.rules.map(\.name) == [
            "big-order", "order-webhook", "vip-signup-chat", "cart-reminder-dach-mobile", "refresh-on-settings-screen", "winback",
        ])
        #expect(rules.rules.map(\.number) == [1, 2, 3, 4, 5, 6])

        let bigOrder = try #require(rules["big-order"])
        #expect(bigOrder.description == "Thank customers for large orders")
        #expect(bigOrder.match.types == ["track"])
        #expect(bigOrder.match.events == ["Order Completed"])
        #expect(bigOrder.match.apps == ["demo", "shop"])
        #expect(bigOrder.match.conditions.map(\.path.description) == ["properties.total", "properties.currency", "properties.test"])
        let push = try #require(bigOrder.pushActions.first)
        #expect(push.title?.source == "Thanks, {{traits.name | \"there\"}}!")
        #expect(push.data.map(\.key) == ["orderId", "screen"])
        #expect(push.badge == .fixed(1))
        #expect(push.priority == .high)
        #expect(push.ttl == 3600)
        #expect(push.platforms == [.ios, .android])
        #expect(push.cap == FrequencyCap(max: 3, windowSeconds: 86_400, per: "24h", actionIndex: 0))

        let webhook = try #require(rules["order-webhook"]?.webhookActions.first)
        #expect(webhook.method == "POST")
        #expect(webhook.body == .event)
        #expect(webhook.headers.map(\.name) == ["Authorization", "X-Beacon-Event"])

        let chat = try #require(rules["vip-signup-chat"])
        #expect(chat.webhookActions.count == 2)
        #expect(chat.actions[0].cap?.windowSeconds == 7 * 86_400)
        #expect(chat.webhookActions[1].method == "PUT")

        // The merge key pulled in the shared settings; explicit keys stay.
        let reminder = try #require(rules["cart-reminder-dach-mobile"]?.pushActions.first)
        #expect(reminder.sound?.source == "default")
        #expect(reminder.priority == .normal)
        #expect(reminder.cap?.windowSeconds == 3 * 86_400)
        #expect(rules["cart-reminder-dach-mobile"]?.match.countries == ["DE", "AT"])
        #expect(rules["cart-reminder-dach-mobile"]?.match.deviceTypes == ["mobile", "tablet"])

        let silent = try #require(rules["refresh-on-settings-screen"]?.pushActions.first)
        #expect(silent.platforms == [.android])
        #expect(silent.title == nil)

        #expect(rules["winback"]?.enabled == false)
    }

    @Test func exampleFileMatchesTheIssuesEvent() throws {
        let rules = try RuleSet.load(path: try RulesFixture.exampleFilePath())
        // 42.5 is below big-order's 100, so only the webhook fires.
        #expect(rules.matching(RulesFixture.order).map(\.name) == ["order-webhook"])

        let big = RulesFixture.order(setting: "properties.total", to: 250)
        #expect(rules.matching(big).map(\.name) == ["big-order", "order-webhook"])
        let rendered = try #require(rules["big-order"]?.pushActions.first).render(big)
        #expect(rendered.title == "Thanks, Ada!")
        #expect(rendered.body == "Your order of 250 EUR is on its way.")
        #expect(rendered.data == ["orderId": "o-7", "screen": "orders"])
        #expect(rendered.collapseKey == "order-o-7")

        let testOrder = RulesFixture.order(setting: "properties.test", to: true)
        #expect(rules.matching(RulesFixture.order(setting: "properties.total", to: 250)).count == 2)
        #expect(!rules.matching(testOrder).contains { $0.name == "big-order" })
    }

    @Test func exampleFilesDisabledRuleNeverMatches() throws {
        let rules = try RuleSet.load(path: try RulesFixture.exampleFilePath())
        let event: JSONValue = ["type": "track", "event": "App Opened", "properties": ["daysSinceLastOpen": 40]]
        #expect(rules["winback"]?.match.matches(event) == true)
        #expect(rules["winback"]?.matches(event) == false)
        #expect(rules.matching(event).isEmpty)
    }

    @Test func exampleFileScreenRuleMatchesByName() throws {
        let rules = try RuleSet.load(path: try RulesFixture.exampleFilePath())
        let screen: JSONValue = ["type": "screen", "name": "Settings", "userId": "u1", "context": ["app": ["version": "2.0"]]]
        #expect(rules.matching(screen).map(\.name) == ["refresh-on-settings-screen"])
        let push = try #require(rules["refresh-on-settings-screen"]?.pushActions.first).render(screen)
        #expect(push.data == ["action": "refresh", "version": "2.0"])
        #expect(push.title == nil && push.body == nil)
    }

    @Test func loadingAMissingFileNamesIt() {
        #expect(throws: RulesFileError.self) { try RuleSet.load(path: "/nonexistent/rules.yaml") }
        do {
            _ = try RuleSet.load(path: "/nonexistent/rules.yaml")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/rules.yaml: cannot read the rules file"))
        }
    }

    // MARK: Rule sets

    @Test func everyMatchingRuleFiresInFileOrder() throws {
        let rules = try RulesFixture.ruleSet("""
            rules:
              - {name: any, match: {}, actions: [{push: {title: a}}]}
              - {name: orders, match: {event: Order Completed}, actions: [{push: {title: b}}]}
              - {name: other-event, match: {event: Signed Up}, actions: [{push: {title: c}}]}
              - {name: tracks, match: {type: track}, actions: [{push: {title: d}}]}
              - {name: orders-again, match: {event: [Signed Up, Order Completed]}, actions: [{push: {title: e}}]}
            """)
        #expect(rules.matching(RulesFixture.order).map(\.name) == ["any", "orders", "tracks", "orders-again"])
        #expect(rules.matching(["type": "identify"]).map(\.name) == ["any"])
        #expect(rules.matching(["type": "track", "event": "Signed Up"]).map(\.name) == ["any", "other-event", "tracks", "orders-again"])
    }

    @Test func emptyRulesListIsValid() throws {
        #expect(try RulesFixture.ruleSet("rules: []").rules.isEmpty)
        #expect(try RulesFixture.ruleSet("rules:").rules.isEmpty)
        #expect(RuleSet.empty.matching(RulesFixture.order).isEmpty)
    }

    @Test func xKeysHoldAnchorsAndAreOtherwiseIgnored() throws {
        let rules = try RulesFixture.ruleSet("""
            x-match: &orders {type: track, event: Order Completed}
            x-anything: [1, 2, 3]
            rules:
              - name: a
                match: *orders
                actions: [{push: {title: hi}}]
            """)
        #expect(rules.matching(RulesFixture.order).map(\.name) == ["a"])
    }

    @Test func largeRuleSetMatchesOnlyTheCandidates() throws {
        // 2,000 rules on distinct event names plus 100 on any event: one
        // event checks ~100 rules, not 2,100 (the index by event name).
        var yaml = "rules:\n"
        for index in 0..<2_000 {
            yaml += "  - {name: named-\(index), match: {event: Event \(index), properties: {total: {gte: \(index)}}}, actions: [{push: {title: t}}]}\n"
        }
        for index in 0..<100 {
            yaml += "  - {name: any-\(index), match: {type: track, geo: {country: [DE]}, properties: {count: {gt: \(index % 5)}}}, actions: [{push: {title: t}}]}\n"
        }
        let rules = try RulesFixture.ruleSet(yaml)
        #expect(rules.rules.count == 2_100)
        var event = RulesFixture.order
        event["event"] = "Event 42"
        var matched = 0
        for _ in 0..<1_000 { matched += rules.matching(event).count }
        // named-42 (42.5 >= 42) and the 60 any-rules with count 3 > index % 5 (0, 1, 2).
        #expect(matched == 1_000 * 61)
        #expect(rules.matching(event).first?.name == "named-42")
    }
}
