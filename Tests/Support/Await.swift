/// Waiting for a condition instead of sleeping for a guess: polls every few
/// milliseconds and fails with what it waited for when the time is up.
public enum Await {
    public struct TimedOut: Error, CustomStringConvertible {
        public let what: String
        public var description: String { "timed out waiting for \(what)" }
    }

    public static func condition(
        _ what: String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(20),
        _ check: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if try await check() { return }
            guard ContinuousClock.now < deadline else { throw TimedOut(what: what) }
            try await Task.sleep(for: interval)
        }
    }
}
