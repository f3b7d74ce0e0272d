import Synchronization

/// A bounded least-recently-used map from a string (a user agent, an IP
/// address) to what was worked out for it, safe to share between threads (one
/// `Mutex` around the whole structure; a hit is a hash lookup and two index
/// swaps, so the critical section is short).
final class LRUCache<Value: Sendable>: Sendable {
    private let state: Mutex<LRU>
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(0, capacity)
        state = Mutex(LRU(capacity: max(0, capacity)))
    }

    func value(for key: String) -> Value? {
        guard capacity > 0 else { return nil }
        return state.withLock { $0.value(for: key) }
    }

    func insert(_ value: Value, for key: String) {
        guard capacity > 0 else { return }
        state.withLock { $0.insert(value, for: key) }
    }

    var count: Int { state.withLock { $0.index.count } }

    func removeAll() {
        state.withLock { $0 = LRU(capacity: capacity) }
    }

    /// Entries live in parallel arrays linked into a recency list by index;
    /// `head` is the most recently used slot, `tail` the eviction candidate.
    struct LRU: Sendable {
        let capacity: Int
        var index: [String: Int] = [:]
        var keys: [String] = []
        var values: [Value] = []
        var previous: [Int] = []
        var next: [Int] = []
        var head = -1
        var tail = -1

        init(capacity: Int) {
            self.capacity = capacity
            index.reserveCapacity(min(capacity, 1 << 16))
        }

        mutating func value(for key: String) -> Value? {
            guard let slot = index[key] else { return nil }
            moveToFront(slot)
            return values[slot]
        }

        mutating func insert(_ value: Value, for key: String) {
            if let slot = index[key] {
                values[slot] = value
                moveToFront(slot)
                return
            }
            let slot: Int
            if keys.count < capacity {
                slot = keys.count
                keys.append(key)
                values.append(value)
                previous.append(-1)
                next.append(-1)
            } else {
                // Reuse the least recently used slot.
                slot = tail
                unlink(slot)
                index[keys[slot]] = nil
                keys[slot] = key
                values[slot] = value
            }
            index[key] = slot
            pushFront(slot)
        }

        private mutating func moveToFront(_ slot: Int) {
            guard slot != head else { return }
            unlink(slot)
            pushFront(slot)
        }

        private mutating func unlink(_ slot: Int) {
            let p = previous[slot], n = next[slot]
            if p >= 0 { next[p] = n } else { head = n }
            if n >= 0 { previous[n] = p } else { tail = p }
            previous[slot] = -1
            next[slot] = -1
        }

        private mutating func pushFront(_ slot: Int) {
            previous[slot] = -1
            next[slot] = head
            if head >= 0 { previous[head] = slot }
            head = slot
            if tail < 0 { tail = slot }
        }
    }
}

/// Parse results by user agent.
typealias UserAgentParseCache = LRUCache<DeviceInfo>
