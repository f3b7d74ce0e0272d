import BeaconTestSupport
import Foundation
import Testing

/// The intake answers in the channel pipeline and the router behind it
/// answers the rest; on one connection their answers still come in the
/// order the requests were sent, and keep-alive and close are honoured.
@Suite(.serialized) struct IntakeConnectionTests {
    let auth = ["Authorization": HTTP.basicAuth(BeaconStack.writeKey), "Content-Type": "application/json"]

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let stack = BeaconStack()
        let tracker = try await stack.startTracker()
        let connection = try RawConnection(port: tracker.port)
        var requests = ""
        requests += RawConnection.request("POST", "/v1/track", headers: auth, body: #"{"event":"One","userId":"u"}"#)
        requests += RawConnection.request("GET", "/healthz")
        requests += RawConnection.request("POST", "/v1/track", headers: auth, body: #"{"event": "#)
        requests += RawConnection.request(
            "POST", "/v1/b", headers: auth, body: #"{"batch":[{"type":"track","event":"Two","userId":"u"},{"type":"page","userId":"u"}]}"#)
        requests += RawConnection.request("GET", "/nothing-here")
        requests += RawConnection.request("GET", "/t/Opened?wk=\(BeaconStack.writeKey)&uid=u")
        try connection.send(requests)

        let expected: [(Int, String)] = [
            (200, #"{"success":true}"#), (200, #"{"status":"ok"}"#), (400, "invalid_json"), (200, #"{"success":true}"#), (404, ""),
            (200, "GIF89a"),
        ]
        for (index, (status, body)) in expected.enumerated() {
            let response = try connection.readResponse()
            #expect(response.status == status, "response \(index): \(response.status) \(response.body)")
            if !body.isEmpty { #expect(response.body.contains(body), "response \(index): \(response.body)") }
        }
        let stored = try await HTTP.get("\(tracker.baseURL)/metrics").text
        #expect(PrometheusText.value(stored, #"beacon_tracker_events_accepted_total{app="testapp"}"#) == 4)
    }

    @Test func connectionCloseIsHonouredAndOversizeBodiesKeepTheConnection() async throws {
        let stack = BeaconStack()
        let tracker = try await stack.startTracker(extra: ["BEACON_TRACKER_MAX_REQUEST_BYTES": "1000"])

        // An oversize body is read to its end and refused; the connection stays.
        let connection = try RawConnection(port: tracker.port)
        try connection.send(RawConnection.request("POST", "/v1/batch", headers: auth, body: String(repeating: " ", count: 5_000)))
        let refused = try connection.readResponse()
        #expect(refused.status == 413)
        #expect(refused.headers["connection"] != "close")
        try connection.send(RawConnection.request("POST", "/v1/track", headers: auth, body: #"{"event":"After","userId":"u"}"#))
        #expect(try connection.readResponse().status == 200)

        // Connection: close gets its answer, then the server closes.
        var closing = auth
        closing["Connection"] = "close"
        try connection.send(RawConnection.request("POST", "/v1/track", headers: closing, body: #"{"event":"Last","userId":"u"}"#))
        let last = try connection.readResponse()
        #expect(last.status == 200)
        #expect(last.headers["connection"] == "close")
        try await Await.condition("the server to close the connection", timeout: .seconds(10)) { connection.isClosed() }
    }

    /// A client far ahead (300 pipelined requests in one write, past the 64
    /// parts the handler keeps before it holds reads) gets every answer, in order.
    @Test func aDeepPipelineIsAnsweredInFull() async throws {
        let stack = BeaconStack()
        let tracker = try await stack.startTracker()
        let connection = try RawConnection(port: tracker.port)
        var requests = ""
        for index in 0..<300 {
            requests += index % 3 == 2
                ? RawConnection.request("GET", "/healthz")
                : RawConnection.request("POST", "/v1/track", headers: auth, body: #"{"event":"Deep","userId":"u","messageId":"\#(stack.runId)-\#(index)"}"#)
        }
        try connection.send(requests)
        for index in 0..<300 {
            let response = try connection.readResponse()
            #expect(response.status == 200, "response \(index): \(response.body)")
            #expect(response.body.contains(index % 3 == 2 ? "status" : "success"), "response \(index) in order: \(response.body)")
        }
        let metrics = try await HTTP.get("\(tracker.baseURL)/metrics").text
        #expect(PrometheusText.value(metrics, #"beacon_tracker_events_accepted_total{app="testapp"}"#) == 200)
    }
}
