import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// Sends events to the tracker at a fixed rate over keep-alive connections
/// and notes the moment of each 2xx. A request is started when it is due
/// whatever the previous ones are doing (open loop), up to `maxInFlight`;
/// requests that had to wait for that bound are counted as late, so a
/// saturated tracker shows up as missed rate rather than hidden latency.
final class LoadSender: @unchecked Sendable {
    struct Report: Sendable {
        var requests = 0
        var acceptedEvents = 0
        var failedRequests = 0
        var lateRequests = 0
        var statuses: [Int: Int] = [:]
        var firstError: String?
        var seconds = 0.0
    }

    let acks: ArrivalTable
    private let client: HTTPClient
    private let tracker: String
    private let authorization: String
    private let factory: TrackEventFactory
    private let report = Mutex(Report())
    private let inFlight = Atomic<Int>(0)

    init(tracker: String, writeKey: String, factory: TrackEventFactory, capacity: Int, connections: Int) {
        self.tracker = tracker
        self.factory = factory
        authorization = "Basic " + Data("\(writeKey):".utf8).base64EncodedString()
        acks = ArrivalTable(count: capacity)
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async throws { try await client.shutdown() }

    /// Sends the events `sequences` in requests of `batch`, `rate` events a second.
    func run(sequences: Range<Int>, rate: Int, batch: Int, maxInFlight: Int) async -> Report {
        let requests = stride(from: sequences.lowerBound, to: sequences.upperBound, by: batch).map {
            $0..<min($0 + batch, sequences.upperBound)
        }
        let interval = Duration.seconds(Double(batch) / Double(rate))
        report.withLock { $0 = Report() }
        let started = ContinuousClock.now
        var late = 0
        await withDiscardingTaskGroup { group in
            for (index, range) in requests.enumerated() {
                let due = started + interval * index
                if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
                if inFlight.load(ordering: .relaxed) >= maxInFlight {
                    late += 1
                    while inFlight.load(ordering: .relaxed) >= maxInFlight { try? await Task.sleep(for: .microseconds(200)) }
                }
                inFlight.add(1, ordering: .relaxed)
                group.addTask {
                    await self.send(range)
                    self.inFlight.subtract(1, ordering: .relaxed)
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        return report.withLock {
            $0.lateRequests += late
            $0.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return $0
        }
    }

    /// Sends `range` and returns whether the tracker accepted it.
    @discardableResult
    func send(_ range: Range<Int>) async -> Bool {
        let (path, body) = factory.body(range)
        var request = HTTPClientRequest(url: tracker + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: authorization)
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let now = monotonicNanos()
            let status = Int(response.status.code)
            _ = try await response.body.collect(upTo: 1 << 20)
            let accepted = (200..<300).contains(status)
            if accepted { for sequence in range { _ = acks.markFirst(sequence, at: now) } }
            report.withLock {
                $0.requests += 1
                $0.statuses[status, default: 0] += 1
                if accepted { $0.acceptedEvents += range.count } else { $0.failedRequests += 1 }
            }
            return accepted
        } catch {
            report.withLock {
                $0.requests += 1
                $0.failedRequests += 1
                if $0.firstError == nil { $0.firstError = "\(error)" }
            }
            return false
        }
    }
}
