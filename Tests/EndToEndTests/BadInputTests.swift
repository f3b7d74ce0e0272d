import BeaconTestSupport
import Foundation
import Testing

/// 30% corrupted requests mixed into good traffic: each bad one gets its 4xx,
/// every good event arrives, and the tracker keeps serving.
@Suite(.serialized) struct BadInputTests {
    enum Corruption: CaseIterable {
        case truncatedJSON, randomBytes, wrongWriteKey, wrongContentType, oversize, deepNesting, invalidUTF8, notAnObject

        var expectedStatus: Int {
            switch self {
            case .truncatedJSON, .randomBytes, .deepNesting, .invalidUTF8, .notAnObject: 400
            case .wrongWriteKey: 401
            case .wrongContentType: 415
            case .oversize: 413
            }
        }
    }

    @Test func corruptedRequestsDoNotPoisonGoodTraffic() async throws {
        let stack = BeaconStack()
        let tracker = try await stack.startTracker()
        let enricher = try await stack.startEnricher()
        let url = "\(tracker.baseURL)/v1/batch"
        let auth = "Basic " + Data("\(BeaconStack.writeKey):".utf8).base64EncodedString()
        var generator = SystemRandomNumberGenerator()

        var goodIds: [String] = []
        var badCounts: [Int: Int] = [:]
        let requests = 300
        for index in 0..<requests {
            let corrupt = index % 10 < 3  // 30%
            if !corrupt {
                let reply = try await HTTP.postJSON(url, json: stack.batch(10, prefix: "g", from: index * 10), writeKey: BeaconStack.writeKey)
                #expect(reply.status == 200, "good request \(index): \(reply.text)")
                goodIds += (index * 10..<(index * 10 + 10)).map { stack.messageId("g", $0) }
                continue
            }
            let corruption = Corruption.allCases[index % Corruption.allCases.count]
            let good = try JSONSerialization.data(withJSONObject: stack.batch(10, prefix: "bad", from: index * 10))
            var body = good
            var headers = ["Content-Type": "application/json", "Authorization": auth]
            switch corruption {
            case .truncatedJSON: body = good.prefix(good.count / 2)
            case .randomBytes: body = Data((0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) }); body[0] = 0x7B
            case .wrongWriteKey: headers["Authorization"] = "Basic " + Data("stolen:".utf8).base64EncodedString()
            case .wrongContentType: headers["Content-Type"] = "text/xml"
            case .oversize: body = Data(#"{"batch":[{"type":"track","event":"x","userId":"u","properties":{"s":"\#(String(repeating: "x", count: 600_000))"}}]}"#.utf8)
            case .deepNesting: body = Data((String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)).utf8)
            case .invalidUTF8: body = Data(#"{"batch":[{"type":"track","event":""#.utf8) + Data([0xC3, 0x28]) + Data(#"","userId":"u"}]}"#.utf8)
            case .notAnObject: body = Data("[1,2,3]".utf8)
            }
            let reply = try await HTTP.post(url, body: body, headers: headers)
            #expect(reply.status == corruption.expectedStatus, "\(corruption): \(reply.text)")
            #expect((try? reply.json())?["success"] as? Bool == false, "\(corruption) must answer a JSON error")
            badCounts[reply.status, default: 0] += 1
        }
        #expect(try await HTTP.get("\(tracker.baseURL)/healthz").status == 200)
        let metrics = try await HTTP.get("\(tracker.baseURL)/metrics").text
        let rejectedTotal = metrics.split(separator: "\n")
            .filter { $0.hasPrefix("beacon_tracker_requests_rejected_total{") }
            .reduce(0) { $0 + Int(Double($1.split(separator: " ").last ?? "") ?? 0) }
        #expect(rejectedTotal == badCounts.values.reduce(0, +))

        let wanted = Set(goodIds)
        let collector = try KafkaCollector(topic: "beacon.events") { ($0["properties"] as? [String: Any])?["run"] as? String == stack.runId }
        try await collector.collect(messageIds: wanted)
        // Nothing from a refused request got through.
        #expect(!collector.messages.contains { ($0.json["messageId"] as? String)?.contains("-bad-") == true })
        try await enricher.terminate()
        try await tracker.terminate()
    }
}
