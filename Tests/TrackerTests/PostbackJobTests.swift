import BeaconCore
import Testing
@testable import TrackerService

/// Postback jobs as the tracker reads them, without a server: templates
/// (percent-encoding, missing and nested keys, JSON bodies), the host that
/// must stay fixed, the allowed hosts, and every refusal with its field.
@Suite struct PostbackJobTests {
    static func job(
        _ endpoint: JSONValue, data: JSONValue = [["id": "a 1"]], maxObjects: Int = 1_000
    ) throws(PostbackError) -> PostbackJob {
        try PostbackJob(JSONObject(pairs: [("endpoint", endpoint), ("data", data)]), maxObjects: maxObjects)
    }

    static func refusal(_ endpoint: JSONValue, data: JSONValue = [["id": "a"]], maxObjects: Int = 1_000) -> PostbackError? {
        do throws(PostbackError) {
            _ = try job(endpoint, data: data, maxObjects: maxObjects)
            return nil
        } catch {
            return error
        }
    }

    @Test func urlValuesArePercentEncodedKeepingOnlyUnreserved() throws {
        let job = try Self.job(
            ["method": "GET", "url": "https://api.partner.example/cb/{id}?q={q}&u={u}&n={n}&t={t}"],
            data: [["id": "a/b c", "q": "x&y=z?#%+", "u": "é~-._", "n": 42, "t": true]])
        let request = try #require(job.requests(app: "shop", jobId: "job1", createdAt: "2026-12-02T00:00:00.000Z").first)
        #expect(request.url == "https://api.partner.example/cb/a%2Fb%20c?q=x%26y%3Dz%3F%23%25%2B&u=%C3%A9~-._&n=42&t=true")
        #expect(request.method == "GET" && request.body == nil && request.headers.isEmpty)
        #expect(request.id == "job1:0" && request.source == .postback(jobId: "job1", index: 0) && request.app == "shop")
        #expect(job.url.host == "api.partner.example")
    }

    @Test func aMissingKeyIsEmptyAndNestedKeysReachIn() throws {
        let job = try Self.job(
            ["url": "https://p.example/c?a={user.id}&b={missing}&c={user.tags.1}&d={user.none.deeper}&e={nil}"],
            data: [["user": ["id": "u-1", "tags": ["x", "y z"]], "nil": nil]])
        let request = try #require(job.requests(app: "shop", jobId: "j", createdAt: "").first)
        #expect(request.url == "https://p.example/c?a=u-1&b=&c=y%20z&d=&e=")
        #expect(request.method == "GET", "GET when no method is given")
    }

    @Test func headersAndBodyTakeValuesAsTheyAreHeadersWithoutLineBreaks() throws {
        let job = try Self.job(
            ["method": "post", "url": "https://p.example/c", "headers": ["Authorization": "Bearer {token}", "X-Click": "{click}"],
             "body": #"{"click":"{click}","n":{n},"empty":{},"user":"{user.name}"}"#],
            data: [["token": "t/1 2", "click": "c\r\nInjected: yes", "n": 3, "user": ["name": "Zoë"]]])
        let request = try #require(job.requests(app: "shop", jobId: "j", createdAt: "").first)
        #expect(request.method == "POST")
        #expect(request.header("authorization") == "Bearer t/1 2")
        #expect(request.header("X-Click") == "cInjected: yes")
        #expect(request.body == #"{"click":"c\#r\#nInjected: yes","n":3,"empty":{},"user":"Zoë"}"#)
        #expect(request.header("content-type") == nil, "a body template brings its own content type")
    }

    @Test func withoutABodyTemplateWritesSendTheObjectAsJSON() throws {
        for method in ["POST", "PUT", "PATCH"] {
            let job = try Self.job(["method": .string(method), "url": "https://p.example/c"], data: [["id": "a", "n": 1], ["id": "b"]])
            let requests = job.requests(app: "shop", jobId: "j", createdAt: "")
            #expect(requests.map(\.body) == [#"{"id":"a","n":1}"#, #"{"id":"b"}"#])
            #expect(requests.map(\.id) == ["j:0", "j:1"])
            #expect(requests.allSatisfy { $0.header("Content-Type") == "application/json" })
        }
        let own = try Self.job(["method": "POST", "url": "https://p.example/c", "headers": ["content-type": "application/vnd.x+json"]])
        #expect(own.requests(app: "shop", jobId: "j", createdAt: "")[0].headers.map(\.value) == ["application/vnd.x+json"])
        for method in ["GET", "DELETE"] {
            let job = try Self.job(["method": .string(method), "url": "https://p.example/c"])
            #expect(job.requests(app: "shop", jobId: "j", createdAt: "")[0].body == nil)
        }
    }

    @Test func aPlaceholderInTheHostIsRefused() {
        for url in ["https://{host}/c", "https://api.{domain}/c", "https://p.example:{port}/c", "https://{user}@p.example/c"] {
            let error = Self.refusal(["url": .string(url)])
            #expect(error?.field == "endpoint.url" && error?.message.contains("host") == true, "\(url): \(String(describing: error))")
        }
    }

    @Test func everyBadJobIsRefusedWithItsField() {
        let url: JSONValue = "https://p.example/c?x={id}"
        // One statement each: a single literal of them all is too much for the type checker.
        func check(_ payload: JSONObject, _ field: String, _ reason: String) {
            do throws(PostbackError) {
                _ = try PostbackJob(payload, maxObjects: 1_000)
                Issue.record("accepted: \(JSONWriter.string(.object(payload)))")
            } catch {
                #expect(error.status == .badRequest && error.field == field, "\(JSONWriter.string(.object(payload))): \(error)")
                #expect(error.message.contains(reason), "\(JSONWriter.string(.object(payload))): \(error.message)")
            }
        }
        let one: JSONValue = [["id": "a"]]
        check(JSONObject(pairs: [("data", one)]), "endpoint", "missing")
        check(JSONObject(pairs: [("endpoint", "https://p.example"), ("data", one)]), "endpoint", "object")
        check(JSONObject(pairs: [("endpoint", ["method": "GET"]), ("data", one)]), "endpoint.url", "missing")
        check(JSONObject(pairs: [("endpoint", ["url": "ftp://p.example/x"]), ("data", one)]), "endpoint.url", "https://")
        check(JSONObject(pairs: [("endpoint", ["url": "p.example/x"]), ("data", one)]), "endpoint.url", "https://")
        check(JSONObject(pairs: [("endpoint", ["url": "https:///x"]), ("data", one)]), "endpoint.url", "valid URL")
        check(JSONObject(pairs: [("endpoint", ["url": "https://p.example/c?x={id"]), ("data", one)]), "endpoint.url", "not closed")
        check(JSONObject(pairs: [("endpoint", ["url": "https://p.example/c?x={}"]), ("data", one)]), "endpoint.url", "key name")
        check(JSONObject(pairs: [("endpoint", ["url": "https://p.example/c?x=}"]), ("data", one)]), "endpoint.url", "}")
        check(JSONObject(pairs: [("endpoint", ["url": url, "method": "TRACE"]), ("data", one)]), "endpoint.method", "GET")
        check(JSONObject(pairs: [("endpoint", ["url": url, "method": 1]), ("data", one)]), "endpoint.method", "GET")
        check(JSONObject(pairs: [("endpoint", ["url": url, "body": "{\"a\":\"{id\""]), ("data", one)]), "endpoint.body", "GET")
        check(JSONObject(pairs: [("endpoint", ["url": url, "method": "POST", "body": "x={id"]), ("data", one)]), "endpoint.body", "not closed")
        check(JSONObject(pairs: [("endpoint", ["url": url, "headers": ["X-A": "{id"]]), ("data", one)]), "endpoint.headers.X-A", "not closed")
        check(JSONObject(pairs: [("endpoint", ["url": url, "headers": ["X-A": "a\r\nB: c"]]), ("data", one)]), "endpoint.headers.X-A", "CR")
        check(JSONObject(pairs: [("endpoint", ["url": url, "headers": ["Bad Name": "a"]]), ("data", one)]), "endpoint.headers.Bad Name", "header name")
        check(JSONObject(pairs: [("endpoint", ["url": url, "headers": ["Host": "a"]]), ("data", one)]), "endpoint.headers.Host", "delivery")
        check(JSONObject(pairs: [("endpoint", ["url": url, "extra": 1]), ("data", one)]), "endpoint.extra", "unknown")
        check(JSONObject(pairs: [("endpoint", ["url": url])]), "data", "missing")
        check(JSONObject(pairs: [("endpoint", ["url": url]), ("data", ["id": "a"])]), "data", "array")
        check(JSONObject(pairs: [("endpoint", ["url": url]), ("data", [])]), "data", "empty")
        check(JSONObject(pairs: [("endpoint", ["url": url]), ("data", [["id": "a"], "b"])]), "data[1]", "object")
        check(JSONObject(pairs: [("endpoint", ["url": url]), ("data", one), ("more", 1)]), "more", "unknown")
    }

    @Test func aJobHoldsMaxObjectsAtMost() throws {
        let three: JSONValue = .array([["id": "a"], ["id": "b"], ["id": "c"]])
        #expect(try Self.job(["url": "https://p.example/c"], data: three, maxObjects: 3).data.count == 3)
        let error = Self.refusal(["url": "https://p.example/c"], data: three, maxObjects: 2)
        #expect(error?.field == "data" && error?.message.contains("2 at most") == true, "\(String(describing: error))")
    }

    @Test func allowedHostsAreExactOrSuffixWildcards() {
        let hosts = PostbackHosts(["api.partner.example", "*.tracking.example", "127.0.0.1", "LOCALHOST", "[::1]"])
        for host in ["api.partner.example", "a.tracking.example", "b.a.tracking.example", "127.0.0.1", "localhost", "::1"] {
            #expect(hosts.allows(host), "\(host)")
        }
        for host in ["partner.example", "x.api.partner.example", "tracking.example", "eviltracking.example", "127.0.0.2"] {
            #expect(!hosts.allows(host), "\(host)")
        }
        #expect(PostbackHosts([]).isEmpty && !PostbackHosts([]).allows("localhost"))
    }

    @Test func theURLsHostIsLowercasedWithoutPortOrBrackets() throws {
        #expect(try PostbackURL("https://API.Partner.Example:8443/c?x={id}").host == "api.partner.example")
        #expect(try PostbackURL("http://[::1]:8080/c").host == "::1")
        #expect(try PostbackURL("HTTP://127.0.0.1/c").host == "127.0.0.1")
    }

    /// `postback.allowedHosts.<app>` read per app, from the environment as a comma-separated list.
    @Test func theSettingsAreReadPerApp() async throws {
        let settings = try TrackerSettings(try await SettingsReader(file: nil, environment: [
            "BEACON_TRACKER_WRITE_KEYS": "k1:shop,k2:blog",
            "BEACON_POSTBACK_ALLOWED_HOSTS_SHOP": "api.partner.example, *.tracking.example",
            "BEACON_POSTBACK_MAX_OBJECTS": "5",
        ]))
        #expect(settings.postback.hosts(for: "shop").allows("x.tracking.example"))
        #expect(settings.postback.hosts(for: "shop").allows("api.partner.example"))
        #expect(settings.postback.hosts(for: "blog").isEmpty)
        #expect(settings.postback.maxObjects == 5 && settings.postback.maxBodyBytes == 1_048_576)
        #expect(settings.postback.stream == "beacon:webhooks")
    }
}
