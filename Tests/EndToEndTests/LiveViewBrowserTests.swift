import BeaconTestSupport
import Foundation
import Testing

/// The live view in a real (headless) browser: an event sent to the tracker
/// shows on the page.
@Suite(.serialized) struct LiveViewBrowserTests {
    /// What a client without the token gets, and that each refusal is counted
    /// once (a plain GET of /ws with the token is refused but not counted).
    @Test func refusedRequestsAndUpgradesAreCounted() async throws {
        let stack = BeaconStack()
        let token = "token-\(stack.runId)"
        let liveview = try await stack.startLiveView(token: token)
        func upgrade(_ query: String) throws -> RawConnection.Response {
            let connection = try RawConnection(port: liveview.port)
            try connection.send(
                "GET /ws\(query) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            return try connection.readResponse()
        }
        #expect(try upgrade("").status == 400)
        #expect(try upgrade("?token=wrong").status == 400)
        let plain = try await HTTP.get("\(liveview.baseURL)/ws")
        #expect(plain.status == 401 && plain.text.contains("a valid token is required"), "\(plain.status) \(plain.text)")
        #expect(try await HTTP.get("\(liveview.baseURL)/ws?token=\(token)").status == 400, "a valid token, but no upgrade")
        #expect(try await HTTP.get("\(liveview.baseURL)/?token=wrong").status == 401)
        let metrics = try await HTTP.get("\(liveview.baseURL)/metrics").text
        #expect(metrics.contains("beacon_liveview_unauthorized_total 4"), "\(metrics)")
        #expect(try await liveview.terminate() == 0)
    }

    @Test func anEventPostedToTheTrackerAppearsOnThePage() async throws {
        let stack = BeaconStack()
        let token = "token-\(stack.runId)"
        let tracker = try await stack.startTracker()
        let enricher = try await stack.startEnricher()
        let liveview = try await stack.startLiveView(token: token)

        // Without the token there is neither page nor stream.
        #expect(try await HTTP.get("\(liveview.baseURL)/").status == 401)
        #expect(try await HTTP.get("\(liveview.baseURL)/?token=wrong").status == 401)

        let browser = try await HeadlessChromium.launch(executable: try TestEnvironment.chromium())
        do {
            try await browser.open("\(liveview.baseURL)/?token=\(token)")
            try await browser.waitUntil("document.getElementById('status').classList.contains('up')", timeout: .seconds(30))
            // Narrow the view to this test's events (the filter runs on the server).
            _ = try await browser.evaluate(
                "document.getElementById('f-event').value = 'Live View Check'; document.getElementById('f-country').value = 'GB';"
                    + " document.getElementById('f-event').form.requestSubmit(); document.getElementById('clear').click(); true")

            // The tap starts at "latest" when the page subscribes; until it is
            // positioned an event can pass unseen, so keep sending distinct
            // events until one shows, each awaited on the page itself.
            var shown: String?
            for attempt in 0..<20 where shown == nil {
                let id = stack.messageId("live", attempt)
                let reply = try await HTTP.postJSON(
                    "\(tracker.baseURL)/v1/track",
                    json: ["userId": "viewer", "event": "Live View Check", "messageId": id, "properties": ["attempt": attempt],
                           "context": ["ip": "81.2.69.160"]],
                    writeKey: BeaconStack.writeKey)
                #expect(reply.status == 200)
                do {
                    try await browser.waitUntil(#"document.querySelector('.event-row[data-message-id="\#(id)"]') !== null"#, timeout: .seconds(3))
                    shown = id
                } catch {}
            }
            let id = try #require(shown, "no event reached the page")
            let rowText = try await browser.evaluate(#"document.querySelector('.event-row[data-message-id="\#(id)"]').innerText"#)
            #expect(rowText?.contains("Live View Check") == true)
            #expect(rowText?.contains("GB") == true)

            // Click the row: the pretty-printed JSON shows the enrichment.
            _ = try await browser.evaluate(#"document.querySelector('.event-row[data-message-id="\#(id)"] .summary').click()"#)
            try await browser.waitUntil(
                #"(document.querySelector('.event-row[data-message-id="\#(id)"] .detail pre.json')?.textContent ?? '').includes('countryCode')"#,
                timeout: .seconds(5))

            let screenshot = try TestEnvironment.outputDir() + "/liveview.png"
            try await browser.screenshot(to: screenshot)
            #expect(FileManager.default.fileExists(atPath: screenshot))
            print("live view screenshot: \(screenshot)")
            #expect(browser.consoleErrors().filter { !$0.hasPrefix("network:") }.isEmpty, "\(browser.consoleErrors())")
        } catch {
            await browser.close()
            throw error
        }
        await browser.close()
        #expect(try await liveview.terminate() == 0)
        try await enricher.terminate()
        try await tracker.terminate()
    }
}
