import BeaconCore
import Testing
@testable import ConsumersService

@Suite struct ActionTests {
    let order = RulesFixture.order

    func action(_ yaml: String) throws -> RuleAction {
        let rules = try RulesFixture.ruleSet("""
            rules:
              - name: r
                match: {}
                actions:
                  - \(yaml.split(separator: "\n").joined(separator: "\n      "))
            """)
        return rules.rules[0].actions[0]
    }

    func push(_ yaml: String) throws -> PushAction {
        guard case .push(let push) = try action("push:\n    " + yaml.split(separator: "\n").joined(separator: "\n    ")) else {
            throw RulesFileError(file: "", message: "not a push")
        }
        return push
    }

    func webhook(_ yaml: String) throws -> WebhookAction {
        guard case .webhook(let webhook) = try action("webhook:\n    " + yaml.split(separator: "\n").joined(separator: "\n    ")) else {
            throw RulesFileError(file: "", message: "not a webhook")
        }
        return webhook
    }

    // MARK: Push

    @Test func pushRendersEveryField() throws {
        let action = try push("""
            title: "Hi {{traits.name}}"
            body: "{{properties.total}} {{properties.currency}}"
            data: {orderId: "{{properties.orderId}}", total: "{{properties.total}}", missing: "{{properties.nope}}"}
            sound: chime.caf
            badge: "{{properties.count}}"
            collapseKey: "order-{{properties.orderId}}"
            priority: normal
            ttl: 90
            platforms: [ios]
            """)
        let rendered = action.render(order)
        #expect(rendered == PushNotification(title: "Hi Ada", body: "42.5 EUR", data: ["orderId": "o-7", "total": "42.5", "missing": ""],
                                             sound: "chime.caf", badge: 3, collapseKey: "order-o-7", priority: .normal, ttlSeconds: 90))
        #expect(action.targets(.ios) && !action.targets(.android))
    }

    @Test func pushDefaultsAndEmptyTexts() throws {
        let action = try push("title: \"{{properties.nope}}\"\nbody: Hello")
        let rendered = action.render(order)
        #expect(rendered.title == nil)  // empty texts are left out
        #expect(rendered.body == "Hello")
        #expect(rendered.priority == .high)
        #expect(rendered.ttlSeconds == nil && rendered.badge == nil && rendered.sound == nil && rendered.collapseKey == nil)
        #expect(action.platforms == [.ios, .android])
        #expect(action.cap == nil)
    }

    @Test func badgeTemplateThatIsNoNumberIsLeftOut() throws {
        #expect(try push("title: t\nbadge: \"{{properties.currency}}\"").render(order).badge == nil)
        #expect(try push("title: t\nbadge: \"{{properties.items.0.price}}\"").render(order).badge == 10)
        #expect(try push("title: t\nbadge: 0").render(order).badge == 0)
    }

    @Test func ttlTakesSecondsOrDurations() throws {
        #expect(try push("title: t\nttl: 0").ttl == 0)
        #expect(try push("title: t\nttl: 30m").ttl == 1800)
        #expect(try push("title: t\nttl: 1h30m").ttl == 5400)
        #expect(try push("title: t\nttl: 2d").ttl == 172_800)
    }

    @Test func renderedNotificationTravelsInAPushRequest() throws {
        let rendered = PushNotification(title: "T", body: "B", data: ["b": "2", "a": "1"], sound: "default", badge: 4,
                                        collapseKey: "k", priority: .normal, ttlSeconds: 60)

        let request = PushRequest(requestId: "m-1:big-order:0:abc", app: "demo", platform: .ios, token: "abc", userId: "u1",
                                  sourceMessageId: "m-1", rule: "big-order", notification: rendered, createdAt: "2026-03-01T12:00:00.000Z")
        // The topic carries one flat object, as the pusher and any other reader expect.
        let json = request.json
        #expect(json["token"] == "abc" && json["platform"] == "ios" && json["rule"] == "big-order")
        #expect(json["title"] == "T" && json["body"] == "B" && json["data"] == ["a": "1", "b": "2"])
        #expect(json["badge"] == 4 && json["sound"] == "default" && json["collapseKey"] == "k")
        #expect(json["priority"] == "normal" && json["ttlSeconds"] == 60)
        // What goes onto the push topic reads back the same.
        #expect(try PushRequest(json: json) == request)
    }

    @Test func aPushRequestForAnUnknownPlatformIsRefusedForGood() {
        let json: JSONValue = ["requestId": "r", "app": "demo", "platform": "blackberry", "token": "t"]
        let error = #expect(throws: ServiceError.self) { try PushRequest(json: json) }
        #expect(error?.kind == .permanent)
        #expect(error?.message.contains("blackberry") == true)
    }

    @Test func platformsAndTopics() {
        #expect(PushPlatform.ios.topic == "beacon.push.apns")
        #expect(PushPlatform.android.topic == "beacon.push.fcm")
        #expect(PushPlatform(deviceType: "iOS") == .ios)
        #expect(PushPlatform(deviceType: "android") == .android)
        #expect(PushPlatform(deviceType: "web") == nil)
    }

    // MARK: Frequency caps

    @Test func capParsesDurations() throws {
        for (per, seconds) in [("30s", 30), ("30m", 1800), ("24h", 86_400), ("7d", 604_800), ("1w", 604_800), ("1h30m", 5400)] {
            let cap = try #require(try push("title: t\ncap: {max: 3, per: \(per)}").cap)
            #expect(cap.max == 3)
            #expect(cap.windowSeconds == seconds, "\(per)")
            #expect(cap.per == per)
        }
    }

    @Test func capKeyIsPerRuleActionAppAndUser() throws {
        let cap = FrequencyCap(max: 3, windowSeconds: 86_400, per: "24h", actionIndex: 1)
        #expect(cap.key(rule: "big-order", app: "demo", user: "u1") == "beacon:cap:big-order:1:demo:u1")
        #expect(cap.key(rule: "big-order", app: nil, user: "u1") == "beacon:cap:big-order:1::u1")
        // Ids with colons cannot reach into another counter.
        #expect(cap.key(rule: "r", app: "a:b", user: "c") != cap.key(rule: "r", app: "a", user: "b:c"))
        #expect(cap.key(rule: "r", app: "a", user: "b:c%") == "beacon:cap:r:1:a:b%3Ac%25")
        #expect(cap.description == "at most 3 per 24h")
    }

    @Test func capsOfTwoActionsInOneRuleCountApart() throws {
        let rules = try RulesFixture.ruleSet("""
            rules:
              - name: r
                match: {}
                actions:
                  - push: {title: a, cap: {max: 1, per: 1h}}
                  - webhook: {url: "https://x.test/", cap: {max: 5, per: 1d}}
            """)
        let caps = rules.rules[0].actions.compactMap(\.cap)
        #expect(caps.map(\.actionIndex) == [0, 1])
        #expect(caps[0].key(rule: "r", app: "demo", user: "u") != caps[1].key(rule: "r", app: "demo", user: "u"))
    }

    // MARK: Webhook

    @Test func webhookDefaultsToPostingTheEvent() throws {
        let action = try webhook("url: https://hooks.example.com/x")
        let request = action.render(order)
        #expect(request.url == "https://hooks.example.com/x")
        #expect(request.method == "POST")
        #expect(request.header("content-type") == "application/json")
        #expect(request.body == JSONWriter.bytes(order))
    }

    @Test func webhookRendersURLHeadersAndTextBody() throws {
        let action = try webhook("""
            url: "http://hooks.example.com:8080/u/{{userId}}?e={{event}}"
            method: put
            headers: {Authorization: Bearer x, X-City: "{{enrichment.geo.city}}", X-Evil: "{{properties.evil}}"}
            body: "{{traits.name}} ordered {{properties.total}}"
            """)
        let event = RulesFixture.order(setting: "properties.evil", to: "a\r\nSet-Cookie: x")
        let request = action.render(event)
        #expect(request.url == "http://hooks.example.com:8080/u/u1?e=Order%20Completed")
        #expect(request.method == "PUT")
        #expect(request.headers.map(\.name) == ["Authorization", "X-City", "X-Evil", "Content-Type"])
        #expect(request.header("X-City") == "Berlin")
        #expect(request.header("X-Evil") == "a Set-Cookie: x")
        #expect(request.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(request.bodyText == "Ada ordered 42.5")
        #expect(request.headerDictionary["X-City"] == "Berlin")
    }

    @Test func webhookOwnContentTypeWins() throws {
        let request = try webhook("url: https://x.test/\nheaders: {content-type: application/x-ndjson}\nbody: \"{{event}}\"").render(order)
        #expect(request.headers.map(\.name) == ["content-type"])
        #expect(request.header("Content-Type") == "application/x-ndjson")
    }

    @Test func getAndDeleteSendNoBody() throws {
        for method in ["GET", "DELETE"] {
            let request = try webhook("url: https://x.test/\nmethod: \(method)").render(order)
            #expect(request.method == method)
            #expect(request.body == nil)
            #expect(request.header("Content-Type") == nil)
        }
    }
}
