/// Stamped events that passed the rate limits, split by the stream they go
/// to: the main one, or the overflow stream for users above their own rate
/// (the enricher drains that one at a bounded pace).
struct AdmittedEvents: Sendable {
    var main: [[UInt8]] = []
    var overflow: [[UInt8]] = []

    init(main: [[UInt8]] = [], overflow: [[UInt8]] = []) {
        self.main = main
        self.overflow = overflow
    }

    var count: Int { main.count + overflow.count }
    var isEmpty: Bool { main.isEmpty && overflow.isEmpty }
}
