/// Nearest-rank percentiles of a set of durations in nanoseconds.
struct Percentiles: Sendable {
    private let sorted: [UInt64]

    init(_ values: [UInt64]) { sorted = values.sorted() }

    var count: Int { sorted.count }

    /// The value at quantile `q` (0...1), in milliseconds; nil when empty.
    func milliseconds(_ q: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return Double(sorted[min(max(rank, 1), sorted.count) - 1]) / 1e6
    }

    var summary: [String: Double?] {
        ["p50_ms": milliseconds(0.5), "p99_ms": milliseconds(0.99), "p999_ms": milliseconds(0.999), "max_ms": milliseconds(1)]
    }
}
