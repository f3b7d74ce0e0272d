import BeaconCore
import Testing
@testable import ConsumersService

@Suite struct EventMatcherTests {
    let order = RulesFixture.order

    func matches(_ match: String, _ event: JSONValue? = nil) throws -> Bool {
        try RulesFixture.matcher(match).matches(event ?? order)
    }

    // MARK: Type, event name, app

    @Test func emptyMatchMatchesEverything() throws {
        #expect(try matches("{}"))
        #expect(try matches("{}", ["type": "identify"]))
    }

    @Test func type() throws {
        #expect(try matches("type: track"))
        #expect(try !matches("type: identify"))
        #expect(try matches("type: [page, track]"))
        #expect(try !matches("type: track", ["event": "Order Completed"]))
    }

    @Test func eventName() throws {
        #expect(try matches("event: Order Completed"))
        #expect(try !matches("event: Order Refunded"))
        #expect(try matches("event: [Order Refunded, Order Completed]"))
        #expect(try !matches("event: order completed"))  // names are exact
        #expect(try matches("event: Home", ["type": "page", "name": "Home"]))
        #expect(try !matches("event: Home", ["type": "identify"]))
    }

    @Test func app() throws {
        #expect(try matches("app: demo"))
        #expect(try matches("app: [shop, demo]"))
        #expect(try !matches("app: shop"))
        #expect(try !matches("app: demo", RulesFixture.order(setting: "app", to: nil)))
    }

    // MARK: Property operators

    @Test func equals() throws {
        #expect(try matches("properties: {currency: EUR}"))
        #expect(try !matches("properties: {currency: USD}"))
        #expect(try matches("properties: {currency: {equals: EUR}}"))
        #expect(try !matches("properties: {currency: {equals: eur}}"))
        // Numbers by value, whatever their spelling or JSON type.
        #expect(try matches("properties: {total: 42.5}"))
        #expect(try matches("properties: {count: 3.0}"))
        #expect(try matches("properties: {count: {equals: 3}}"))
        #expect(try !matches("properties: {count: 4}"))
        #expect(try matches("properties: {text: 100}"))  // a pixel's text "100"
        #expect(try matches("properties: {count: \"3\"}"))  // quoted in YAML, a number in the event
        #expect(try matches("properties: {flag: true}"))
        #expect(try !matches("properties: {flag: false}"))
        #expect(try !matches("properties: {flag: \"yes\"}"))
        // YAML 1.1's yes/no are text, not booleans.
        #expect(try matches("properties: {answer: yes}", RulesFixture.order(setting: "properties.answer", to: "yes")))
        // Lists and objects compare as JSON.
        #expect(try matches("properties: {cart: {equals: {items: 2}}}"))
        #expect(try !matches("properties: {cart: {equals: {items: 3}}}"))
    }

    @Test func inList() throws {
        #expect(try matches("properties: {currency: [USD, EUR]}"))
        #expect(try matches("properties: {currency: {in: [USD, EUR]}}"))
        #expect(try !matches("properties: {currency: {in: [USD, GBP]}}"))
        #expect(try matches("properties: {count: {in: [1, 2, 3]}}"))
        #expect(try !matches("properties: {count: {in: [1, 2]}}"))
    }

    @Test func numericComparisons() throws {
        #expect(try matches("properties: {total: {gt: 42}}"))
        #expect(try !matches("properties: {total: {gt: 42.5}}"))
        #expect(try matches("properties: {total: {gte: 42.5}}"))
        #expect(try !matches("properties: {total: {gte: 43}}"))
        #expect(try matches("properties: {total: {lt: 43}}"))
        #expect(try !matches("properties: {total: {lt: 42.5}}"))
        #expect(try matches("properties: {total: {lte: 42.5}}"))
        #expect(try !matches("properties: {total: {lte: 42}}"))
        #expect(try matches("properties: {total: {gte: 10, lt: 100}}"))
        #expect(try !matches("properties: {total: {gte: 50, lt: 100}}"))
        #expect(try matches("properties: {count: {gt: -1}}"))
    }

    @Test func numericComparisonsReadNumbersInText() throws {
        #expect(try matches("properties: {text: {gte: 100}}"))
        #expect(try !matches("properties: {text: {gt: 100}}"))
        #expect(try !matches("properties: {currency: {gt: 0}}"))  // "EUR" is no number
        #expect(try !matches("properties: {flag: {gt: 0}}"))
        #expect(try !matches("properties: {v: {gt: 0}}", RulesFixture.order(setting: "properties.v", to: "nan")))
        #expect(try !matches("properties: {v: {gt: 0}}", RulesFixture.order(setting: "properties.v", to: "inf")))
    }

    @Test func exists() throws {
        #expect(try matches("properties: {orderId: {exists: true}}"))
        #expect(try !matches("properties: {orderId: {exists: false}}"))
        #expect(try matches("properties: {coupon: {exists: false}}"))
        #expect(try !matches("properties: {coupon: {exists: true}}"))
        // null counts as missing.
        #expect(try !matches("properties: {note: {exists: true}}"))
        #expect(try matches("properties: {note: {exists: false}}"))
        #expect(try matches("properties: {total: {exists: true, gt: 1}}"))
    }

    @Test func missingFieldsFailEveryConditionButAbsence() throws {
        for condition in ["missing: x", "missing: [x]", "missing: {gt: 0}", "missing: {gte: 0}", "missing: {lt: 0}",
                          "missing: {lte: 0}", "missing: {exists: true}", "deep.er.still: 1"] {
            #expect(try !matches("properties: {\(condition)}"), "\(condition)")
        }
        #expect(try matches("properties: {missing: {exists: false}}"))
        #expect(try matches("properties: {missing: null}"))
        #expect(try matches("properties: {note: null}"))
        #expect(try !matches("properties: {currency: null}"))
        // No properties at all.
        #expect(try !matches("properties: {total: {gt: 0}}", ["type": "track"]))
        // A path through a non-object.
        #expect(try !matches("properties: {total.value: {exists: true}}"))
    }

    @Test func dottedPathsAndListIndexes() throws {
        #expect(try matches("properties: {cart.items: 2}"))
        #expect(try matches("properties: {items.0.sku: A1}"))
        #expect(try matches("properties: {items.0.price: {gte: 10}}"))
        #expect(try !matches("properties: {items.1.sku: {exists: true}}"))
        #expect(try matches("fields: {context.traits.plan: pro}"))
        #expect(try matches("fields: {userId: u1, enrichment.geo.city: Berlin}"))
        #expect(try !matches("fields: {userId: u2}"))
        #expect(try matches("fields: {anonymousId: {exists: false}}"))
        // traits fall back to context.traits.
        #expect(try matches("fields: {traits.name: Ada}"))
        #expect(try matches("fields: {traits.name: Grace}", ["type": "identify", "traits": ["name": "Grace"]]))
    }

    @Test func allConditionsMustHold() throws {
        #expect(try matches("properties: {currency: EUR, total: {gt: 40}}"))
        #expect(try !matches("properties: {currency: EUR, total: {gt: 50}}"))
        #expect(try !matches("type: track\nevent: Order Completed\nproperties: {currency: USD}"))
    }

    // MARK: Geo and device

    @Test func geoCountry() throws {
        #expect(try matches("geo: {country: DE}"))
        #expect(try matches("geo: {country: [at, de]}"))
        #expect(try !matches("geo: {country: [AT, CH]}"))
        #expect(try matches("geo: {country: [NO]}", RulesFixture.order(setting: "enrichment.geo.countryCode", to: "NO")))
        #expect(try !matches("geo: {country: DE}", RulesFixture.order(setting: "enrichment.geo", to: nil)))
        #expect(try !matches("geo: {country: DE}", ["type": "track"]))
    }

    @Test func deviceTypeAndOS() throws {
        #expect(try matches("device: {type: mobile}"))
        #expect(try matches("device: {type: [Tablet, MOBILE]}"))
        #expect(try !matches("device: {type: [desktop, bot]}"))
        #expect(try matches("device: {os: ios}"))
        #expect(try !matches("device: {os: [Android]}"))
        #expect(try matches("device: {type: mobile, os: [iOS, Android]}"))
        #expect(try !matches("device: {type: mobile}", RulesFixture.order(setting: "enrichment.device", to: nil)))
    }
}
