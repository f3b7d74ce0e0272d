import Atomics
import HummingbirdWebSocket
import Logging
import Synchronization

/// Serves one WebSocket: reads the browser's commands, writes its frames,
/// and once a second reports rates and drops.
struct SessionRunner: Sendable {
    let taps: TopicTaps
    let queueSize: Int
    let metrics: LiveViewMetrics
    let activeSessions = ManagedAtomic<Int>(0)

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger: Logger) async throws {
        let session = LiveSession(queueSize: queueSize)
        metrics.sessions.record(activeSessions.wrappingIncrementThenLoad(ordering: .relaxed))
        let current = CurrentTap()
        defer {
            current.replace(with: nil, for: session)
            session.finish()
            metrics.sessions.record(activeSessions.wrappingDecrementThenLoad(ordering: .relaxed))
        }
        let defaultTopic = taps.topics[0]
        try await outbound.write(.text(SessionProtocol.hello(topics: taps.topics, topic: defaultTopic)))

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await frame in session.frames {
                    try await outbound.write(.text(frame))
                    metrics.framesSent.increment()
                }
            }
            group.addTask {
                var reportedDrops = 0
                var lastMatched = 0
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(1))
                    let (dropped, matched) = session.counters
                    if dropped > reportedDrops {
                        metrics.framesDropped.increment(by: dropped - reportedDrops)
                        try await outbound.write(.text(SessionProtocol.dropped(dropped - reportedDrops)))
                        reportedDrops = dropped
                    }
                    let rate = current.tap?.messagesPerSecond ?? 0
                    try await outbound.write(.text(SessionProtocol.stats(
                        rate: rate, matchedRate: Double(matched - lastMatched), dropped: dropped, paused: session.isPaused)))
                    lastMatched = matched
                }
            }
            group.addTask {
                for try await message in inbound.messages(maxSize: 16 * 1024) {
                    guard case .text(let text) = message else { continue }
                    do {
                        switch try SessionProtocol.command(text) {
                        case .subscribe(let topic, let filter):
                            guard let tap = taps.tap(topic) else {
                                session.send(SessionProtocol.error("topic \(topic) is not offered; choose one of \(taps.topics.joined(separator: ", "))"))
                                continue
                            }
                            session.configure(filter: filter)
                            current.replace(with: tap, for: session)
                        case .pause: session.setPaused(true)
                        case .resume: session.setPaused(false)
                        }
                    } catch let error as SessionProtocol.InvalidCommand {
                        session.send(SessionProtocol.error(error.message))
                    }
                }
            }
            // The browser went away: stop the writer and the reporter too.
            _ = try await group.next()
            group.cancelAll()
        }
    }
}

/// The tap a session currently watches.
final class CurrentTap: Sendable {
    private let current = Mutex<TopicTap?>(nil)

    var tap: TopicTap? { current.withLock { $0 } }

    func replace(with tap: TopicTap?, for session: LiveSession) {
        current.withLock { current in
            current?.remove(session)
            current = tap
            tap?.add(session)
        }
    }
}
