import BeaconCore
import BeaconKafka
import Glibc

/// Produces enriched events through the sender's hot path and remembers
/// each until Kafka confirmed it, so that its Redis entry is acknowledged
/// only once every event in it is confirmed (an entry may hold many). A
/// failed delivery (Kafka away, or a producer the sender had to replace) is
/// produced again, in the order the entries came. Owned by one pipeline
/// thread.
struct EventForwarder {
    private struct Pending {
        let entryId: String
        let message: OutgoingMessage
    }

    private let sender: KafkaSender
    private var pending: [UInt64: Pending] = [:]
    /// Stream ids with events in `pending`, and how many each still waits
    /// for: an entry read again (our pending list, a claim) while its first
    /// copy is still in flight is not sent twice.
    private var pendingEntries: [String: Int] = [:]
    /// Entries only part of which could be produced: not acknowledged when that part is confirmed.
    private var incomplete: Set<String> = []
    private var nextToken: UInt64 = 1

    init(sender: KafkaSender) {
        self.sender = sender
    }

    /// Events produced and not yet confirmed.
    var inFlight: Int { pending.count }

    /// Produces the events of one entry; the entry is delivered once all are.
    mutating func send(entryId: String, messages: [OutgoingMessage]) throws(KafkaError) {
        guard !messages.isEmpty, pendingEntries[entryId] == nil else { return }
        var sent = 0
        do {
            for message in messages {
                let token = nextToken
                nextToken += 1
                try enqueue(message, token: token)
                pending[token] = Pending(entryId: entryId, message: message)
                sent += 1
            }
        } catch {
            // Part of the entry is in flight: it is never acknowledged from
            // here; it stays pending in Redis and is claimed and sent whole again.
            if sent > 0 {
                pendingEntries[entryId] = sent
                incomplete.insert(entryId)
            }
            throw error
        }
        pendingEntries[entryId] = sent
    }

    private func enqueue(_ message: OutgoingMessage, token: UInt64) throws(KafkaError) {
        while true {
            do {
                return try sender.enqueue(message, token: token)
            } catch where error.isQueueFull {
                usleep(2_000)  // librdkafka's queue is full: its poll thread is draining it
            }
        }
    }

    /// The stream ids Kafka confirmed since the last call, waiting up to
    /// `timeout` for the first report when none has come. Failed ones are
    /// produced again.
    mutating func collectDelivered(timeout: Duration = .zero) throws(KafkaError) -> [String] {
        if timeout > .zero { sender.reports.wait(timeout: timeout) }
        let reports = sender.reports.takeAll()
        var delivered: [String] = []
        delivered.reserveCapacity(reports.count)
        var failed: [UInt64] = []
        for report in reports {
            guard let item = pending[report.token] else { continue }
            if report.error == nil {
                pending[report.token] = nil
                let left = (pendingEntries[item.entryId] ?? 1) - 1
                if left > 0 {
                    pendingEntries[item.entryId] = left
                } else {
                    pendingEntries[item.entryId] = nil
                    if incomplete.remove(item.entryId) == nil { delivered.append(item.entryId) }
                }
            } else {
                failed.append(report.token)
            }
        }
        for token in failed.sorted() {
            if let item = pending[token] { try enqueue(item.message, token: token) }
        }
        return delivered
    }

    /// On shutdown: what Kafka confirms by `deadline`.
    mutating func drain(until deadline: ContinuousClock.Instant) -> [String] {
        var delivered: [String] = []
        while !pending.isEmpty, ContinuousClock.now < deadline {
            delivered += (try? collectDelivered(timeout: .milliseconds(50))) ?? []
        }
        return delivered
    }
}
