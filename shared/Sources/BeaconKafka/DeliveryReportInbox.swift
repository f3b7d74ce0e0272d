import Synchronization

/// Collects delivery reports from a producer's callback for the thread that
/// polls it to take in batches.
public final class DeliveryReportInbox: Sendable {
    private let reports = Mutex<[DeliveryReport]>([])

    public init() {}

    /// Pass this as the producer's `onDelivery`.
    public func add(_ report: DeliveryReport) {
        reports.withLock { $0.append(report) }
    }

    /// Everything received since the last call.
    public func takeAll() -> [DeliveryReport] {
        reports.withLock { reports in
            defer { reports.removeAll(keepingCapacity: true) }
            return reports
        }
    }
}
