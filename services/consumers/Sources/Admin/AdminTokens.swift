import Foundation

/// The bearer tokens that open the consumers' admin routes: those of
/// `consumers.adminTokens` and, one a line, of `consumers.adminTokensFile`
/// (a mounted Kubernetes secret). Several at once, so that one can be
/// rotated without downtime. None: the admin routes stay closed (503).
struct AdminTokens: Sendable {
    private let tokens: [[UInt8]]

    init(_ tokens: [String]) {
        self.tokens = tokens.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { Array($0.utf8) }
    }

    /// The listed tokens and those of `file`; blank lines and `#` comments skipped.
    init(tokens: [String], file: String?) throws {
        var all = tokens
        if let file {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw AdminTokensFileError(path: file, reason: "\(error.localizedDescription)")
            }
            all += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.hasPrefix("#") }
        }
        self.init(all)
    }

    var isEmpty: Bool { tokens.isEmpty }
    var count: Int { tokens.count }

    /// Whether `authorization` (the header's value) is `Bearer <a configured token>`.
    /// Every token is compared, each in time that depends only on the lengths,
    /// so the answer's timing does not tell how much of a token was right.
    func accepts(authorization: String?) -> Bool {
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else { return false }
        let presented = Array(authorization.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8)
        var matches: UInt64 = 0
        // Summed, not `||`: no short cut once one matched.
        for token in tokens { matches += Self.constantTimeEqual(token, presented) }
        return matches > 0
    }

    /// 1 when `a == b`, else 0: a byte-wise XOR fold over the longer of the
    /// two with the length difference folded in, and no branch on the bytes.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> UInt64 {
        var difference = UInt64(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0, y = index < b.count ? b[index] : 0
            difference |= UInt64(x ^ y)
        }
        // The top bit of d | -d is set exactly when d != 0.
        return ((difference | (0 &- difference)) >> 63) ^ 1
    }
}

/// `consumers.adminTokensFile` cannot be read: start-up stops rather than run with fewer tokens than meant.
struct AdminTokensFileError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "consumers.adminTokensFile \(path) cannot be read: \(reason)" }
}
