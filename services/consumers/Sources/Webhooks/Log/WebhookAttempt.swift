import BeaconCore
import Foundation

/// One attempt at a webhook request, as the delivery log keeps it (and the
/// live view tails it): what was called, what came back, and what happens
/// next. The worker makes one per attempt, including those a breaker or a
/// partner's 429 deferred without calling (`outcome == .deferred`).
struct WebhookAttempt: Sendable, Equatable {
    enum Outcome: String, Sendable, CaseIterable {
        /// 2xx: done.
        case delivered
        /// Failed; `nextAttemptAt` says when it is tried again.
        case retrying
        /// Failed for good (permanent, or the last attempt): in `beacon.webhooks.failed`.
        case failed
        /// Not called: the host's breaker is open or it asked to wait (429); rescheduled, not counted as an attempt.
        case deferred
    }

    let requestId: String
    let app: String
    /// "rule" or "postback", and the rule's name or the job's id.
    let source: String
    let sourceName: String
    let method: String
    /// Without its query values (`?token=***`): a URL may carry a partner's secret.
    let url: String
    let host: String
    /// 1 for the first call.
    let attempt: Int
    let outcome: Outcome
    /// nil when no response came (a refused connection, a timeout, a refused address).
    let status: Int?
    let latencyMs: Double?
    /// The first 2 KB of the response body, as text.
    let responseBody: String?
    let error: String?
    let at: Date
    let nextAttemptAt: Date?

    /// Is this an error, for `GET /errors`: anything but delivered.
    var isError: Bool { outcome != .delivered }

    static let responseBodyLimit = 2_048

    /// `url` with every query value replaced by `***` (keys kept, so the log still says which were sent).
    static func redacted(_ url: String) -> String {
        guard let question = url.firstIndex(of: "?") else { return url }
        let fragmentStart = url[question...].firstIndex(of: "#") ?? url.endIndex
        let query = url[url.index(after: question)..<fragmentStart]
        let redacted = query.split(separator: "&", omittingEmptySubsequences: false).map { pair in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            return pair[..<equals] + "=***"
        }
        return url[..<question] + "?" + redacted.joined(separator: "&") + url[fragmentStart...]
    }
}
