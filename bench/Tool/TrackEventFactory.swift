import BeaconCore
import Foundation

/// Builds the benchmark's track events: real user agents and public
/// addresses (so the enricher does real GeoIP and device work), one
/// messageId per event, users spread so that Kafka keys vary.
struct TrackEventFactory: Sendable {
    let ids: BenchMessageId
    let eventName: String
    private let userAgents: [String]  // already JSON string literals
    private let ips: [String]

    init(ids: BenchMessageId, eventName: String, userAgentsFile: String?, ipsFile: String?) throws {
        self.ids = ids
        self.eventName = eventName
        let agents = try Self.lines(userAgentsFile) ?? ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"]
        userAgents = agents.map { JSONWriter.string(.string($0)) }
        ips = try Self.lines(ipsFile) ?? ["81.2.69.160"]
    }

    private static func lines(_ path: String?) throws -> [String]? {
        guard let path else { return nil }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        return lines.isEmpty ? nil : lines
    }

    func event(_ sequence: Int) -> String {
        let agent = userAgents[sequence % userAgents.count]
        let ip = ips[(sequence / 7) % ips.count]
        return #"{"type":"track","event":"\#(eventName)","userId":"user-\#(sequence % 5000)","messageId":"\#(ids.make(sequence))","#
            + #""properties":{"sequence":\#(sequence),"plan":"pro","amount":12.5},"#
            + #""context":{"ip":"\#(ip)","userAgent":\#(agent),"library":{"name":"beacon-bench","version":"1"}}}"#
    }

    /// A `/v1/track` body for one event, a `/v1/batch` body for more.
    func body(_ sequences: Range<Int>) -> (path: String, body: String) {
        if sequences.count == 1 { return ("/v1/track", event(sequences.lowerBound)) }
        return ("/v1/batch", #"{"batch":["# + sequences.map(event).joined(separator: ",") + "]}")
    }
}
