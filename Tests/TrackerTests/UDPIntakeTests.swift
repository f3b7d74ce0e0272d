import BeaconRedis
import BeaconTestSupport
import Foundation
import Testing

/// The UDP intake of a real tracker process, fed through a real socket.
@Suite(.serialized) struct UDPIntakeTests {
    let stack = BeaconStack()

    enum Corruption: CaseIterable {
        case truncated, bitFlippedBrace, bitFlippedText, randomBytes, oversized, wrongKey, missingKey, unknownType

        var outcome: String {
            switch self {
            case .truncated, .bitFlippedBrace, .bitFlippedText, .randomBytes: "invalid_json"
            case .oversized: "too_large"
            case .wrongKey, .missingKey: "unauthorized"
            case .unknownType: "invalid_body"
            }
        }
    }

    func startTracker(extra: [String: String] = [:]) async throws -> (ServiceProcess, udpPort: Int) {
        let udpPort = FreePort.next()
        var env = ["BEACON_TRACKER_UDP_PORT": String(udpPort)]
        for (key, value) in extra { env[key] = value }
        let tracker = try await stack.startTracker(extra: env)
        // /readyz includes the UDP socket being bound (and Redis connected).
        try await Await.condition("the tracker to be ready with its UDP socket") {
            (try? await HTTP.get("\(tracker.baseURL)/readyz").status) == 200
        }
        return (tracker, udpPort)
    }

    func metrics(_ tracker: ServiceProcess) async throws -> String { try await HTTP.get("\(tracker.baseURL)/metrics").text }

    static func datagrams(_ metrics: String, _ outcome: String) -> Int {
        Int(PrometheusText.value(metrics, #"beacon_tracker_udp_datagrams_total{outcome="\#(outcome)"}"#))
    }

    static let outcomes = ["accepted", "invalid_json", "invalid_body", "too_large", "unauthorized", "rate_limited", "unavailable"]

    static func counted(_ metrics: String) -> Int { outcomes.reduce(0) { $0 + datagrams(metrics, $1) } }

    func streamEntries(_ redis: RedisConnection) throws -> [[String: Any]] {
        try StreamEvents.read(redis, stream: stack.stream).compactMap { event in
            try? JSONSerialization.jsonObject(with: Data(event)) as? [String: Any]
        }
    }

    func event(_ id: String, type: String = "track") -> [String: Any] {
        ["type": type, "event": "Ping", "name": "Home", "userId": "device-\(id.suffix(2))", "messageId": id,
         "properties": ["run": stack.runId, "reading": 21.5]]
    }

    func bytes(_ object: [String: Any]) throws -> [UInt8] { Array(try JSONSerialization.data(withJSONObject: object)) }

    /// 30 % corrupted datagrams mixed into good ones, sent no faster than the
    /// tracker takes them: every good event lands in the stream, stamped with
    /// the sender's address, and every bad datagram is counted by its reason.
    @Test func corruptedDatagramsAreCountedAndGoodOnesAllArrive() async throws {
        let (tracker, udpPort) = try await startTracker()
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.stream]) }
        let sender = try UDPSocket()
        var generator = SystemRandomNumberGenerator()
        let types = ["track", "identify", "page", "screen", "group", "alias"]

        var goodIds: [String] = []
        var expected: [String: Int] = [:]
        let total = 1_000, chunk = 50
        for index in 0..<total {
            let id = stack.messageId(index % 10 < 3 ? "bad" : "g", index)
            var datagram: [UInt8]
            if index % 10 >= 3 {
                if index % 4 == 0 {  // a batch of five
                    let ids = (0..<5).map { "\(id)-\($0)" }
                    datagram = try bytes(["writeKey": BeaconStack.writeKey, "batch": ids.map { event($0) }])
                    goodIds += ids
                } else {
                    var single = event(id, type: types[index % types.count])
                    single["writeKey"] = BeaconStack.writeKey
                    datagram = try bytes(single)
                    goodIds.append(id)
                }
                expected["accepted", default: 0] += 1
            } else {
                let corruption = Corruption.allCases[index % Corruption.allCases.count]
                var single = event(id)
                single["writeKey"] = BeaconStack.writeKey
                let good = try bytes(single)
                switch corruption {
                case .truncated: datagram = Array(good.prefix(good.count / 2))
                case .bitFlippedBrace: datagram = good; datagram[0] ^= 0x01  // { becomes z
                case .bitFlippedText:  // a letter of "Ping" gets its high bit: invalid UTF-8
                    datagram = good
                    datagram[try #require(good.firstIndex(of: UInt8(ascii: "P")))] ^= 0x80
                case .randomBytes: datagram = [0xFF] + (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
                case .oversized:
                    single["properties"] = ["blob": String(repeating: "x", count: 40_000)]
                    datagram = try bytes(single)
                case .wrongKey: single["writeKey"] = "stolen"; datagram = try bytes(single)
                case .missingKey: single["writeKey"] = nil; datagram = try bytes(single)
                case .unknownType: single["type"] = "purchase"; datagram = try bytes(single)
                }
                expected[corruption.outcome, default: 0] += 1
            }
            try sender.send(datagram, to: udpPort)
            // Flow control, not a guess: the next chunk goes once the tracker has judged this one.
            if (index + 1) % chunk == 0 {
                let sent = index + 1
                try await Await.condition("the tracker to judge \(sent) datagrams") { Self.counted(try await metrics(tracker)) >= sent }
            }
        }
        let exposition = try await metrics(tracker)
        for outcome in Self.outcomes {
            #expect(Self.datagrams(exposition, outcome) == expected[outcome, default: 0], "outcome \(outcome)")
        }
        #expect(PrometheusText.value(exposition, "beacon_tracker_udp_socket_drops") == 0)
        #expect(Int(PrometheusText.value(exposition, #"beacon_tracker_events_accepted_total{app="\#(BeaconStack.app)"}"#)) == goodIds.count)

        let entries = try streamEntries(redis)
        let ids = entries.compactMap { $0["messageId"] as? String }
        #expect(Set(ids) == Set(goodIds), "missing \(Set(goodIds).subtracting(ids).count), unexpected \(Set(ids).subtracting(goodIds).count)")
        #expect(ids.count == goodIds.count)
        #expect(entries.allSatisfy { ($0["context"] as? [String: Any])?["ip"] as? String == "127.0.0.1" })
        #expect(entries.allSatisfy { $0["app"] as? String == BeaconStack.app })
        #expect(Set(entries.compactMap { $0["type"] as? String }) == Set(types))

        // Still serving HTTP, and SIGTERM stops it cleanly with the socket open.
        #expect(try await HTTP.get("\(tracker.baseURL)/healthz").status == 200)
        #expect(try await tracker.terminate() == 0)
        #expect(tracker.errorLines().isEmpty, "\(tracker.errorLines())")
    }

    /// Flooded faster than it can read, with a small receive buffer: what does
    /// not arrive is what the kernel says it dropped, so no loss is silent.
    @Test func aFloodsLossIsAllInTheDropMetric() async throws {
        let (tracker, udpPort) = try await startTracker(extra: ["BEACON_TRACKER_UDP_RECEIVE_BUFFER_BYTES": "16384"])
        let redis = try RedisConnection(try TestEnvironment.redisURL())
        defer { _ = try? redis.command(["DEL", stack.stream]) }
        let sender = try UDPSocket()
        var single = event(stack.messageId("flood", 0))
        single["messageId"] = nil
        single["writeKey"] = BeaconStack.writeKey
        let datagram = try bytes(single)
        let sent = 20_000
        for _ in 0..<sent { try sender.send(datagram, to: udpPort) }

        var last = (accepted: 0, unavailable: 0, drops: 0)
        try await Await.condition("accepted + refused + dropped to add up to the \(sent) sent", timeout: .seconds(60)) {
            let exposition = try await metrics(tracker)
            last = (Self.datagrams(exposition, "accepted"), Self.datagrams(exposition, "unavailable"),
                    Int(PrometheusText.value(exposition, "beacon_tracker_udp_socket_drops")))
            return last.accepted + last.unavailable + last.drops == sent
        }
        print("udp flood: \(sent) sent, \(last.accepted) accepted, \(last.unavailable) refused (buffer full), \(last.drops) dropped by the kernel")
        #expect(Self.counted(try await metrics(tracker)) == last.accepted + last.unavailable)
        #expect(try StreamEvents.count(redis, stream: stack.stream) == last.accepted)
        try await tracker.terminate()
    }
}
