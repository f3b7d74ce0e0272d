import Foundation

/// When and how long to wait before trying a push again: exponential backoff
/// with full jitter, a bounded number of attempts, and a server's
/// `Retry-After` honoured as the least wait. Shared by APNs and FCM.
public struct PushRetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first one included. 1 means never retry.
    public var maxAttempts: Int
    /// The backoff cap before the first retry; it doubles for each later one.
    public var baseDelay: Duration
    /// The largest backoff cap, whatever the attempt.
    public var maxDelay: Duration
    /// The longest `Retry-After` waited for in process. A server that asks for
    /// more gets no in-process retry: the caller keeps the outcome (and may
    /// requeue the work) rather than holding a slot for that long.
    public var maxRetryAfter: Duration

    public init(
        maxAttempts: Int = 5,
        baseDelay: Duration = .milliseconds(500),
        maxDelay: Duration = .seconds(30),
        maxRetryAfter: Duration = .seconds(60)
    ) {
        precondition(maxAttempts >= 1, "maxAttempts counts the first attempt and must be at least 1")
        precondition(baseDelay >= .zero && maxDelay >= baseDelay, "need 0 <= baseDelay <= maxDelay")
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    public static let `default` = PushRetryPolicy()
    /// One attempt, no retries.
    public static let never = PushRetryPolicy(maxAttempts: 1)

    /// The backoff cap for the retry that follows `attempt` failed attempts
    /// (1-based): `min(maxDelay, baseDelay * 2^(attempt-1))`.
    public func backoffCap(afterAttempt attempt: Int) -> Duration {
        let exponent = max(0, min(attempt - 1, 62))
        let baseSeconds = Self.seconds(baseDelay)
        let capped = min(Self.seconds(maxDelay), baseSeconds * pow(2.0, Double(exponent)))
        return Self.duration(seconds: capped)
    }

    /// How long to wait after `attempt` failed attempts (1-based), or nil when
    /// no attempt is left or the server asked for a wait above `maxRetryAfter`.
    /// The wait is uniformly random in `[0, backoffCap]` (full jitter) and
    /// never shorter than `retryAfter`.
    public func delay(
        afterAttempt attempt: Int,
        retryAfter: Duration? = nil,
        using generator: inout some RandomNumberGenerator
    ) -> Duration? {
        guard attempt < maxAttempts else { return nil }
        if let retryAfter, retryAfter > maxRetryAfter { return nil }
        let cap = Self.seconds(backoffCap(afterAttempt: attempt))
        let jittered = cap > 0 ? Self.duration(seconds: Double.random(in: 0...cap, using: &generator)) : .zero
        if let retryAfter, retryAfter > jittered { return retryAfter }
        return jittered
    }

    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil) -> Duration? {
        var generator = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, retryAfter: retryAfter, using: &generator)
    }

    /// Parses an HTTP `Retry-After` value: delay-seconds (`"120"`) or an
    /// HTTP-date (`"Wed, 21 Oct 2015 07:28:00 GMT"`, taken relative to `now`).
    /// Returns nil for anything else; a date in the past gives zero.
    public static func parseRetryAfter(_ value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            guard let seconds = Int64(text) else { return nil }
            return .seconds(seconds)
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return duration(seconds: max(0, date.timeIntervalSince(now)))
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    static func duration(seconds: Double) -> Duration {
        .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}
