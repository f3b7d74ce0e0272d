/// The accepted datagrams of one read burst (one or more recvmmsg calls),
/// handed to the writer as one request: a queue push, a writer wake-up and a
/// completion per burst rather than per datagram, which at tens of thousands
/// of datagrams a second is most of their cost.
struct PendingDatagrams {
    var events = AdmittedEvents()
    private(set) var datagrams = 0
    /// Events per app, for beacon_tracker_events_accepted_total once stored.
    private(set) var eventsByApp: [String: Int] = [:]

    var isEmpty: Bool { datagrams == 0 }

    mutating func add(_ admitted: AdmittedEvents, app: String) {
        events.main += admitted.main
        events.overflow += admitted.overflow
        datagrams += 1
        eventsByApp[app, default: 0] += admitted.count
    }
}
