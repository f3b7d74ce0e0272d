/// What one call to a partner gave.
struct WebhookCall: Sendable, Equatable {
    enum Result: Sendable, Equatable {
        /// An answer came back (any status).
        case answered(status: Int, body: String, retryAfter: Duration?)
        /// No answer: a refused connection, a timeout, a reset. Worth retrying.
        case unreachable(String)
        /// No call was made, and none ever will be: an invalid URL, a private address.
        case refused(String)
    }

    let result: Result
    let host: String
    let latencyMs: Double?
}
