import Hummingbird

/// The live view shows every event that flows, so both the page and the
/// WebSocket need the configured token: `?token=` or `Authorization: Bearer`.
struct AccessToken: Sendable {
    private let expected: [UInt8]

    init(_ token: String) {
        expected = Array(token.utf8)
    }

    func allows(_ request: Request) -> Bool {
        if let token = request.uri.queryParameters["token"], matches(String(token)) { return true }
        if let header = request.headers[.authorization], header.hasPrefix("Bearer "), matches(String(header.dropFirst(7))) {
            return true
        }
        return false
    }

    /// Compares in time independent of where the first difference is.
    private func matches(_ candidate: String) -> Bool {
        let bytes = Array(candidate.utf8)
        guard bytes.count == expected.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(bytes, expected) { difference |= left ^ right }
        return difference == 0
    }
}
