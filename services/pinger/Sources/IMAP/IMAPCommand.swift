/// A command to send, without its tag. `chunks[0]` goes first (after the
/// tag and a space); each later chunk only after the server's "+"
/// continuation: the data of a synchronising literal, or a SASL response.
struct IMAPCommand: Sendable {
    enum Purpose: Sendable {
        case ordinary
        /// LOGIN or AUTHENTICATE: a further "+" is a SASL challenge, answered empty.
        case authentication
        case starttls
        /// EXAMINE: what the mailbox reported before it is the baseline, not news.
        case examine
        /// IDLE for this long (or until news, or another command is queued).
        case idle(Duration)
        /// LOGOUT: the BYE before its OK is expected.
        case logout
    }

    /// For errors and logs ("LOGIN"): never the arguments.
    var name: String
    var chunks: [[UInt8]]
    var purpose: Purpose = .ordinary

    init(_ name: String, purpose: Purpose = .ordinary, chunks: [[UInt8]]) {
        self.name = name
        self.purpose = purpose
        self.chunks = chunks
    }

    /// name, arguments, CRLF; `literalPlus` when the server takes "{n+}"
    /// literals (no round trip).
    init(_ name: String, purpose: Purpose = .ordinary, arguments: [IMAPArgument] = [], literalPlus: Bool = false) throws(IMAPError) {
        var chunks: [[UInt8]] = []
        var current = Array(name.utf8)
        for argument in arguments {
            current.append(UInt8(ascii: " "))
            switch argument {
            case .atom(let atom):
                current += atom.utf8
            case .string(let string):
                let bytes = Array(string.utf8)
                if bytes.contains(0) { throw .commandFailed(command: name, response: "an argument contains a NUL byte") }
                if IMAPArgument.canQuote(bytes) {
                    current.append(UInt8(ascii: "\""))
                    for b in bytes {
                        if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { current.append(UInt8(ascii: "\\")) }
                        current.append(b)
                    }
                    current.append(UInt8(ascii: "\""))
                } else if literalPlus {
                    current += "{\(bytes.count)+}\r\n".utf8
                    current += bytes
                } else {
                    current += "{\(bytes.count)}\r\n".utf8
                    chunks.append(current)
                    current = bytes
                }
            }
        }
        current += "\r\n".utf8
        chunks.append(current)
        self.init(name, purpose: purpose, chunks: chunks)
    }
}

/// An argument of a command.
enum IMAPArgument: Sendable {
    /// Sent as it is (a keyword, a number, a parenthesised list we wrote).
    case atom(String)
    /// A quoted string, or a literal when it has CR, LF or 8-bit bytes.
    case string(String)

    /// 7-bit text without CR and LF can be quoted ("\" and "\"" escaped).
    static func canQuote(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy { $0 > 0 && $0 < 0x80 && $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
    }
}

/// Base64 (RFC 4648) for SASL, without Foundation.
enum IMAPBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            i += 3
        }
        return out
    }
}
