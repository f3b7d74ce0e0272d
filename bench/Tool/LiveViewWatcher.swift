import Foundation
import HummingbirdWSClient
import Logging
import Synchronization

/// A live-view browser stand-in: subscribes to a topic over the WebSocket
/// with an event-name filter and notes when each of the run's events arrives.
final class LiveViewWatcher: @unchecked Sendable {
    let arrivals: ArrivalTable
    private let ids: BenchMessageId
    private let seenCount = Atomic<Int>(0)
    private let droppedCount = Atomic<Int>(0)
    private var task: Task<Void, Never>?
    private let failure = Mutex<String?>(nil)

    init(ids: BenchMessageId, capacity: Int) {
        self.ids = ids
        arrivals = ArrivalTable(count: capacity)
    }

    var seen: Int { seenCount.load(ordering: .relaxed) }
    /// Frames the live view reported dropping because this client fell behind.
    var dropped: Int { droppedCount.load(ordering: .relaxed) }
    var error: String? { failure.withLock { $0 } }

    func start(url: String, topic: String, event: String) {
        let subscribe = #"{"type":"subscribe","topic":"\#(topic)","filters":{"event":"\#(event)"}}"#
        task = Task { [self] in
            var logger = Logger(label: "beacon.bench.liveview")
            logger.logLevel = .warning
            do {
                try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, outbound, _ in
                    try await outbound.write(.text(subscribe))
                    for try await message in inbound.messages(maxSize: 1 << 24) {
                        guard case .text(let text) = message else { continue }
                        let now = monotonicNanos()
                        var frame = text
                        let sequence = frame.withUTF8 { self.ids.sequence(in: UnsafeRawBufferPointer($0)) }
                        if let sequence {
                            if self.arrivals.markFirst(sequence, at: now) { self.seenCount.add(1, ordering: .relaxed) }
                        } else if text.hasPrefix(#"{"type":"dropped""#) || text.contains(#""type":"dropped""#),
                                  let data = text.data(using: .utf8),
                                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                                  let count = object["count"] as? Int {
                            self.droppedCount.add(count, ordering: .relaxed)
                        }
                    }
                }
            } catch is CancellationError {
            } catch {
                if !Task.isCancelled { failure.withLock { $0 = "\(error)" } }
            }
        }
    }

    func stop() async {
        task?.cancel()
        await task?.value
    }
}
