import NIOCore

/// How long a client may take at each stage of a connection before the
/// tracker closes it. Without them a client that sends half a request and
/// stalls holds its socket and memory for good.
struct ConnectionTimeouts: Sendable {
    /// Which wait ran out; also the `reason` label of the closed-connections metric.
    enum Kind: String, CaseIterable, Sendable {
        /// The request head did not arrive in full: counted from connecting, or
        /// from the first byte of the next request on a keep-alive connection.
        case head = "head_timeout"
        /// The body did not arrive in full, counted from the end of its head.
        case body = "body_timeout"
        /// A keep-alive connection sent nothing after its last response.
        case idle = "idle_timeout"
    }

    var head: TimeAmount
    var body: TimeAmount
    var idle: TimeAmount

    subscript(kind: Kind) -> TimeAmount {
        switch kind {
        case .head: head
        case .body: body
        case .idle: idle
        }
    }
}
