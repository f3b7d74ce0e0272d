import BeaconTestSupport
import Foundation
import Testing

/// What analytics.js does in a real (headless) browser, from a page of another
/// origin: its standard dispatcher's `fetch` of text/plain JSON to a short
/// path, its batching dispatcher's `/v1/b` with Authorization and
/// X-Retry-Count (which need a preflight), and `navigator.sendBeacon` on
/// unload. Each event is awaited in beacon.events.
@Suite(.serialized) struct BrowserSDKTests {
    @Test func aPageOfAnotherOriginSendsThroughTheShortPathsTheBatchAndSendBeacon() async throws {
        let stack = BeaconStack()
        let tracker = try await stack.startTracker()
        let enricher = try await stack.startEnricher()
        let port = try #require(URL(string: tracker.baseURL)?.port)
        // The page is served by http://localhost:PORT; the tracker is called as
        // http://127.0.0.1:PORT, a different origin to the browser.
        let page = "http://localhost:\(port)/healthz"
        let intake = "http://127.0.0.1:\(port)"
        let ids = ["fetch", "batch", "beacon"].map { stack.messageId("browser-\($0)", 0) }

        let browser = try await HeadlessChromium.launch(executable: try TestEnvironment.chromium())
        do {
            try await browser.open(page)
            let event = { (id: String, name: String) in
                #"{type: "track", event: "\#(name)", userId: "browser-user", messageId: "\#(id)", properties: {run: "\#(stack.runId)"}}"#
            }
            let answers = try await browser.evaluate("""
                (async () => {
                  const key = "\(BeaconStack.writeKey)";
                  const one = await fetch("\(intake)/v1/t", {method: "POST", keepalive: true,
                    headers: {"Content-Type": "text/plain"}, body: JSON.stringify({...\(event(ids[0], "Browser Fetch")), writeKey: key})});
                  const batch = await fetch("\(intake)/v1/b", {method: "POST",
                    headers: {"Content-Type": "application/json", "Authorization": "Basic " + btoa(key + ":"), "X-Retry-Count": "1"},
                    body: JSON.stringify({batch: [\(event(ids[1], "Browser Batch"))], sentAt: new Date().toISOString()})});
                  const queued = navigator.sendBeacon("\(intake)/v1/t",
                    new Blob([JSON.stringify({...\(event(ids[2], "Browser Beacon")), writeKey: key})], {type: "text/plain"}));
                  return [one.status, (await one.json()).success, batch.status, (await batch.json()).success, queued].join(",");
                })()
                """)
            // A fetch whose answer lacked Access-Control-Allow-Origin would have
            // thrown (a network error to the page), not returned its status.
            #expect(answers == "200,true,200,true,true", "\(browser.consoleErrors())")
            await browser.close()
        } catch {
            await browser.close()
            throw error
        }

        let collector = try KafkaCollector(topic: "beacon.events") { ($0["properties"] as? [String: Any])?["run"] as? String == stack.runId }
        try await collector.collect(messageIds: Set(ids))
        let byId = Dictionary(collector.messages.map { ($0.json["messageId"] as? String ?? "", $0.json) }, uniquingKeysWith: { a, _ in a })
        #expect(byId[ids[0]]?["event"] as? String == "Browser Fetch")
        #expect(byId[ids[1]]?["event"] as? String == "Browser Batch")
        #expect(byId[ids[2]]?["event"] as? String == "Browser Beacon")
        for id in ids {
            #expect(byId[id]?["app"] as? String == BeaconStack.app, "\(id)")
            // The browser's own user agent, as the tracker saw it.
            #expect(((byId[id]?["context"] as? [String: Any])?["userAgent"] as? String)?.contains("Chrome") == true, "\(id)")
        }
        let metrics = try await HTTP.get("\(tracker.baseURL)/metrics").text
        #expect(PrometheusText.value(metrics, "beacon_tracker_retried_requests_total") == 1)
        try await tracker.terminate()
        try await enricher.terminate()
    }
}
