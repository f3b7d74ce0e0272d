import BeaconCore
import BeaconTestSupport
import Foundation
import Testing
@testable import TrackerService

/// Each datagram judged alone: what is taken, with what stamped on it, and
/// the outcome each kind of bad datagram is counted under.
@Suite struct DatagramReaderTests {
    let reader = DatagramReader(
        writeKeys: try! WriteKeys(entries: ["wk:shop", "hot:busy"]),
        reader: PayloadReader(limits: IntakeLimits(maxEventBytes: 300, maxRequestBytes: 4_000, maxBatchEvents: 3)),
        admission: EventAdmission(limits: ["busy": RateLimit(eventsPerSecond: 1, burst: 2)], trackedUsers: 10, metrics: TrackerMetrics(apps: ["shop", "busy"])))

    func judge(_ text: String, source: String? = "192.0.2.7") -> DatagramReader.Judgement {
        reader.judge(Array(text.utf8), source: source, receivedAt: "2026-01-01T00:00:00.000Z")
    }

    func outcome(_ text: String) -> DatagramOutcome? {
        if case .refused(let outcome, _) = judge(text) { return outcome }
        return nil
    }

    func events(_ judgement: DatagramReader.Judgement) throws -> [JSONObject] {
        guard case .accepted(let admitted, _, _) = judgement else {
            Issue.record("refused: \(judgement)")
            return []
        }
        return try admitted.main.map { try #require(JSONParser.parse($0).objectValue) }
    }

    @Test func oneEventIsStampedWithItsTypeAppAndSourceAddress() throws {
        let judgement = judge(#"{"writeKey":"wk","type":"identify","userId":"u1","traits":{"a":1}}"#)
        guard case .accepted(_, let app, let rejected) = judgement else { Issue.record("\(judgement)"); return }
        #expect(app == "shop")
        #expect(rejected == 0)
        let event = try #require(try events(judgement).first)
        #expect(event["type"]?.stringValue == "identify")
        #expect(event["app"]?.stringValue == "shop")
        #expect(event["receivedAt"]?.stringValue == "2026-01-01T00:00:00.000Z")
        #expect(event["messageId"]?.stringValue?.isEmpty == false)
        #expect(event["context"]?.objectValue?["ip"]?.stringValue == "192.0.2.7")
    }

    @Test func anIPTheDeviceSentWinsOverTheSourceAddress() throws {
        let event = try #require(try events(judge(#"{"writeKey":"wk","type":"track","event":"E","userId":"u","context":{"ip":"81.2.69.142"}}"#)).first)
        #expect(event["context"]?.objectValue?["ip"]?.stringValue == "81.2.69.142")
    }

    @Test func aBatchKeepsItsGoodEventsAndCountsTheBadOnes() throws {
        let text = #"{"writeKey":"wk","batch":[{"type":"track","event":"A","userId":"u"},7,{"type":"page","name":"P","userId":"u"}]}"#
        let judgement = judge(text)
        guard case .accepted(let admitted, _, let rejected) = judgement else { Issue.record("\(judgement)"); return }
        #expect(admitted.count == 2)
        #expect(rejected == 1)
        #expect(try events(judgement).map { $0["type"]?.stringValue } == ["track", "page"])
    }

    @Test func badDatagramsAreRefusedByReason() {
        let good = #"{"writeKey":"wk","type":"track","event":"Ping","userId":"u1"}"#
        // Not JSON.
        #expect(outcome("") == .invalidJSON)
        #expect(outcome(String(good.prefix(good.count / 2))) == .invalidJSON)
        #expect(outcome("z" + good.dropFirst()) == .invalidJSON)  // a flipped bit in the first brace
        #expect(reader.judge(Array(#"{"writeKey":"wk","type":"track","event":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8),
                             source: nil, receivedAt: "").refusal == .invalidJSON)
        #expect(outcome(String(repeating: "[", count: 200) + String(repeating: "]", count: 200)) == .invalidJSON)
        // JSON, not an event.
        #expect(outcome("[1,2]") == .invalidBody)
        #expect(outcome(#"{"writeKey":"wk","event":"Ping"}"#) == .invalidBody)
        #expect(outcome(#"{"writeKey":"wk","type":"purchase","event":"Ping"}"#) == .invalidBody)
        #expect(outcome(#"{"writeKey":"wk","type":7}"#) == .invalidBody)
        #expect(outcome(#"{"writeKey":"wk","batch":[]}"#) == .invalidBody)
        #expect(outcome(#"{"writeKey":"wk","batch":"no"}"#) == .invalidBody)
        // Keys.
        #expect(outcome(#"{"type":"track","event":"Ping"}"#) == .unauthorized)
        #expect(outcome(#"{"writeKey":"","type":"track","event":"Ping"}"#) == .unauthorized)
        #expect(outcome(#"{"writeKey":"stolen","type":"track","event":"Ping"}"#) == .unauthorized)
        // Sizes: one event over maxEventBytes, a batch over maxBatchEvents, a datagram over maxRequestBytes.
        #expect(outcome(#"{"writeKey":"wk","type":"track","event":"\#(String(repeating: "x", count: 400))"}"#) == .tooLarge)
        #expect(outcome(#"{"writeKey":"wk","batch":[{},{},{},{}]}"#) == .tooLarge)
        #expect(outcome(#"{"writeKey":"wk","batch":[],"pad":"\#(String(repeating: "x", count: 5_000))"}"#) == .tooLarge)
        // Still good after all that.
        #expect(outcome(good) == nil)
    }

    @Test func aRefusalSaysWhy() {
        guard case .refused(_, let reason) = judge(#"{"writeKey":"wk","type":"purchase"}"#) else { Issue.record("taken"); return }
        #expect(reason.contains(#""purchase""#) && reason.contains("track"), "\(reason)")
    }

    @Test func anAppOverItsRateIsRefused() {
        let event = #"{"writeKey":"hot","type":"track","event":"E","userId":"u"}"#
        #expect(outcome(event) == nil)
        #expect(outcome(event) == nil)
        #expect(outcome(event) == .rateLimited)
    }

    @Test func everyRefusalOfTheCoreHasAnOutcome() {
        for rejection in TrackerMetrics.Rejection.allCases {
            #expect(DatagramOutcome.allCases.contains(DatagramOutcome(rejection)))
        }
        #expect(DatagramOutcome(.rateLimited) == .rateLimited)
        #expect(DatagramOutcome(.unavailable) == .unavailable)
    }
}

@Suite struct ProcNetUDPTests {
    // As Linux 6.x prints it: one socket on 127.0.0.1:8125 that dropped 4898
    // datagrams, one on another port.
    let table = """
           sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
         7846: 0100007F:1FBD 00000000:0000 07 00000000:0001FE00 00:00000000 00000000     0        0 3047636 2 00000000f5f47242 4898
         7378: 0100007F:D5D3 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3046808 2 00000000f5f47242 0
        """

    @Test func readsTheDropsOfThePortsSocket() {
        #expect(ProcNetUDP.drops(port: 8125, in: table) == 4898)
        #expect(ProcNetUDP.drops(port: 54739, in: table) == 0)
        #expect(ProcNetUDP.drops(port: 9999, in: table) == nil)
        #expect(ProcNetUDP.drops(port: 8125, in: "") == nil)
    }

    @Test func readsTheRealTable() throws {
        // A socket of this process's own: the kernel lists it (on Linux with /proc).
        try #require(FileManager.default.fileExists(atPath: "/proc/net/udp"))
        let probe = try UDPSocket()
        #expect(ProcNetUDP.drops(port: probe.port) == 0)
    }
}

extension DatagramReader.Judgement {
    var refusal: DatagramOutcome? {
        if case .refused(let outcome, _) = self { return outcome }
        return nil
    }
}
