import NIOCore

/// Reads server responses from the bytes received, strictly and within
/// bounds: every line ends with CRLF, lines and literals have a maximum size,
/// and anything that is not IMAP is a protocolViolation (the caller closes
/// the connection). It keeps only the response being read, so an idle
/// connection holds next to nothing.
public struct IMAPResponseParser: Sendable {
    public struct Limits: Sendable {
        /// Longest line (without its literals), CRLF included.
        public var maxLineLength: Int
        /// Largest literal ({n}); the pinger fetches no messages, so this is small.
        public var maxLiteralLength: Int
        /// All lines and literals of one response together.
        public var maxResponseLength: Int

        public init(maxLineLength: Int = 64 * 1024, maxLiteralLength: Int = 64 * 1024, maxResponseLength: Int = 256 * 1024) {
            self.maxLineLength = maxLineLength
            self.maxLiteralLength = maxLiteralLength
            self.maxResponseLength = maxResponseLength
        }
    }

    enum Segment: Sendable, Equatable {
        /// A line without CRLF (ending with "{n}" when a literal follows).
        case line([UInt8])
        case literal([UInt8])
    }

    public let limits: Limits
    private var segments: [Segment] = []
    private var responseLength = 0
    private var literalLength: Int?
    /// Bytes of the current line already searched for LF, not searched again.
    private var scanned = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// True while part of a response has been read (a close now cuts it short).
    public var isInsideResponse: Bool { !segments.isEmpty || scanned > 0 || literalLength != nil }

    /// The next complete response, or nil when more bytes are needed.
    public mutating func next(from buffer: inout ByteBuffer) throws(IMAPError) -> IMAPResponse? {
        while true {
            if let length = literalLength {
                guard buffer.readableBytes >= length else { return nil }
                segments.append(.literal(buffer.readBytes(length: length) ?? []))
                literalLength = nil
                continue
            }
            let view = buffer.readableBytesView
            guard let lf = view[(view.startIndex + scanned)...].firstIndex(of: UInt8(ascii: "\n")) else {
                scanned = view.count
                if scanned > limits.maxLineLength {
                    throw .protocolViolation("response line longer than \(limits.maxLineLength) bytes")
                }
                return nil
            }
            let lineLength = lf - view.startIndex + 1
            if lineLength > limits.maxLineLength {
                throw .protocolViolation("response line longer than \(limits.maxLineLength) bytes")
            }
            guard lineLength >= 2, view[lf - 1] == UInt8(ascii: "\r") else {
                throw .protocolViolation("response line not ended by CRLF")
            }
            let line = Array(view[view.startIndex..<(lf - 1)])
            buffer.moveReaderIndex(forwardBy: lineLength)
            scanned = 0
            if let bad = line.first(where: { $0 == 0 || $0 == UInt8(ascii: "\r") }) {
                throw .protocolViolation("response line contains a \(bad == 0 ? "NUL" : "bare CR") byte")
            }
            responseLength += lineLength
            if responseLength > limits.maxResponseLength {
                throw .protocolViolation("response longer than \(limits.maxResponseLength) bytes")
            }
            segments.append(.line(line))
            if let length = try Self.literalAnnounced(at: line) {
                if length > limits.maxLiteralLength {
                    throw .protocolViolation("literal of \(length) bytes, more than the \(limits.maxLiteralLength) allowed")
                }
                responseLength += length
                if responseLength > limits.maxResponseLength {
                    throw .protocolViolation("response longer than \(limits.maxResponseLength) bytes")
                }
                literalLength = length
                continue
            }
            let complete = segments
            segments = []
            responseLength = 0
            return try Self.parse(complete)
        }
    }

    /// n when the line ends with "{n}" (a literal of n bytes follows).
    static func literalAnnounced(at line: [UInt8]) throws(IMAPError) -> Int? {
        guard line.last == UInt8(ascii: "}"), let open = line.lastIndex(of: UInt8(ascii: "{")) else { return nil }
        var digits = line[(open + 1)..<(line.count - 1)]
        if digits.last == UInt8(ascii: "+") { digits = digits.dropLast() }  // LITERAL+ form, should servers use it
        guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw .protocolViolation("bad literal length in \(IMAPResponseReader.excerpt(line))")
        }
        return Int(String(decoding: digits, as: UTF8.self))!
    }

    // MARK: - taking a response apart

    static func parse(_ segments: [Segment]) throws(IMAPError) -> IMAPResponse {
        var reader = IMAPResponseReader(segments)
        if reader.consume(UInt8(ascii: "+")) {
            // "+ text"; some servers send a bare "+".
            _ = reader.consume(UInt8(ascii: " "))
            return .continuation(reader.restOfLine())
        }
        if reader.consume(UInt8(ascii: "*")) {
            try reader.expectSpace()
            return try parseUntagged(&reader)
        }
        let tag = try reader.tag()
        try reader.expectSpace()
        let word = try reader.atom().uppercased()
        guard let kind = IMAPStatusResponse.Kind(rawValue: word), kind == .ok || kind == .no || kind == .bad else {
            throw .protocolViolation("tagged response with \(word) instead of OK, NO or BAD: \(reader.lineExcerpt)")
        }
        return .tagged(tag: tag, try parseStatus(kind, &reader))
    }

    private static func parseUntagged(_ reader: inout IMAPResponseReader) throws(IMAPError) -> IMAPResponse {
        if reader.peekIsDigit {
            let number = try reader.number(what: "message number")
            try reader.expectSpace()
            let keyword = try reader.atom().uppercased()
            switch keyword {
            case "EXISTS":
                try reader.expectEnd()
                return .exists(number)
            case "RECENT":
                try reader.expectEnd()
                return .recent(number)
            case "EXPUNGE":
                try reader.expectEnd()
                return .expunge(number)
            case "FETCH": return .fetch(number)
            default: return .other(keyword)
            }
        }
        let word = try reader.atom().uppercased()
        if let kind = IMAPStatusResponse.Kind(rawValue: word) {
            return .untaggedStatus(try parseStatus(kind, &reader))
        }
        switch word {
        case "CAPABILITY":
            return .capability(try reader.capabilityList())
        case "STATUS":
            try reader.expectSpace()
            let mailbox = try reader.astring()
            try reader.expectSpace()
            try reader.expect(UInt8(ascii: "("))
            var items: [String: UInt64] = [:]
            while !reader.consume(UInt8(ascii: ")")) {
                if !items.isEmpty { try reader.expectSpace() }
                let name = try reader.atom().uppercased()
                try reader.expectSpace()
                items[name] = try reader.number64(what: "STATUS \(name)")
            }
            try reader.expectEnd()
            return .status(mailbox: mailbox, items)
        default:
            return .other(word)
        }
    }

    /// After OK/NO/BAD/PREAUTH/BYE: [SP "[" code "]"] [SP text].
    private static func parseStatus(_ kind: IMAPStatusResponse.Kind, _ reader: inout IMAPResponseReader) throws(IMAPError) -> IMAPStatusResponse {
        guard reader.consume(UInt8(ascii: " ")) else {
            try reader.expectEnd()  // no text: lenient, some servers send none
            return IMAPStatusResponse(kind: kind, text: "")
        }
        var code: IMAPResponseCode?
        if reader.consume(UInt8(ascii: "[")) {
            code = try reader.responseCode()
            _ = reader.consume(UInt8(ascii: " "))
        }
        return IMAPStatusResponse(kind: kind, code: code, text: reader.restOfLine())
    }
}

/// A cursor over one response's lines and literals.
struct IMAPResponseReader {
    private let segments: [IMAPResponseParser.Segment]
    private var segment = 0
    private var position = 0

    init(_ segments: [IMAPResponseParser.Segment]) {
        self.segments = segments
    }

    private var line: [UInt8] {
        if case .line(let bytes) = segments[segment] { return bytes }
        return []
    }

    private var peek: UInt8? { position < line.count ? line[position] : nil }

    var peekIsDigit: Bool { peek.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }

    var lineExcerpt: String { Self.excerpt(line) }

    static func excerpt(_ bytes: [UInt8]) -> String {
        let printable = bytes.prefix(80).map { $0 >= 0x20 && $0 < 0x7F ? Character(UnicodeScalar($0)) : "?" }
        return "'" + String(printable) + (bytes.count > 80 ? "...'" : "'")
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        position += 1
        return true
    }

    mutating func expect(_ byte: UInt8) throws(IMAPError) {
        guard consume(byte) else {
            throw .protocolViolation("expected '\(Character(UnicodeScalar(byte)))' at byte \(position) of \(lineExcerpt)")
        }
    }

    mutating func expectSpace() throws(IMAPError) { try expect(UInt8(ascii: " ")) }

    mutating func expectEnd() throws(IMAPError) {
        guard position == line.count, segment == segments.count - 1 else {
            throw .protocolViolation("unexpected data at byte \(position) of \(lineExcerpt)")
        }
    }

    /// The rest of the current line as text (literals after it are not text).
    mutating func restOfLine() -> String {
        let text = String(decoding: line[position...], as: UTF8.self)
        position = line.count
        return text
    }

    private static func isAtomChar(_ b: UInt8) -> Bool {
        guard b > 0x20, b < 0x7F else { return false }
        switch b {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "{"), UInt8(ascii: "%"), UInt8(ascii: "*"),
            UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "]"):
            return false
        default: return true
        }
    }

    /// 1*ATOM-CHAR.
    mutating func atom() throws(IMAPError) -> String {
        let start = position
        while let b = peek, Self.isAtomChar(b) { position += 1 }
        guard position > start else { throw .protocolViolation("expected an atom at byte \(start) of \(lineExcerpt)") }
        return String(decoding: line[start..<position], as: UTF8.self)
    }

    /// A tag: ASTRING-CHAR except "+".
    mutating func tag() throws(IMAPError) -> String {
        let start = position
        while let b = peek, b != UInt8(ascii: "+"), Self.isAtomChar(b) || b == UInt8(ascii: "]") { position += 1 }
        guard position > start else { throw .protocolViolation("response without a valid tag: \(lineExcerpt)") }
        return String(decoding: line[start..<position], as: UTF8.self)
    }

    private mutating func digits(what: String) throws(IMAPError) -> Substring {
        let start = position
        while let b = peek, b >= 0x30, b <= 0x39 { position += 1 }
        guard position > start, position - start <= 20 else {
            throw .protocolViolation("\(what) is not a number in \(lineExcerpt)")
        }
        return Substring(String(decoding: line[start..<position], as: UTF8.self))
    }

    mutating func number(what: String) throws(IMAPError) -> Int {
        guard let n = Int(try digits(what: what)), n <= UInt32.max else {
            throw .protocolViolation("\(what) out of range in \(lineExcerpt)")
        }
        return n
    }

    mutating func number64(what: String) throws(IMAPError) -> UInt64 {
        guard let n = UInt64(try digits(what: what)) else { throw .protocolViolation("\(what) out of range in \(lineExcerpt)") }
        return n
    }

    /// A 32-bit non-zero number that must fill the text it came in ("123", not "12a").
    static func uid(_ text: Substring, what: String) throws(IMAPError) -> UInt32 {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = UInt32(text), n > 0 else {
            throw .protocolViolation("\(what) is not a valid number: '\(text.prefix(40))'")
        }
        return n
    }

    /// SP-separated atoms to the end of the line, uppercased.
    mutating func capabilityList() throws(IMAPError) -> Set<String> {
        var names: Set<String> = []
        while consume(UInt8(ascii: " ")) {
            if peek == nil { break }  // a trailing space
            names.insert(try atom().uppercased())
        }
        try expectEnd()
        return names
    }

    /// After "[": the code up to the closing "]".
    mutating func responseCode() throws(IMAPError) -> IMAPResponseCode {
        let name = try atom().uppercased()
        var argument: Substring?
        if consume(UInt8(ascii: " ")) {
            let start = position
            while let b = peek, b != UInt8(ascii: "]") { position += 1 }
            argument = Substring(String(decoding: line[start..<position], as: UTF8.self))
        }
        try expect(UInt8(ascii: "]"))
        switch name {
        case "CAPABILITY":
            let names = (argument ?? "").split(separator: " ").map { $0.uppercased() }
            return .capability(Set(names))
        case "UIDVALIDITY":
            return .uidValidity(try Self.uid(argument ?? "", what: "UIDVALIDITY"))
        case "UIDNEXT":
            return .uidNext(try Self.uid(argument ?? "", what: "UIDNEXT"))
        default:
            return .other(name: name, argument: argument.map(String.init))
        }
    }

    /// atom, "quoted" or {n} literal.
    mutating func astring() throws(IMAPError) -> String {
        if consume(UInt8(ascii: "\"")) {
            var bytes: [UInt8] = []
            while true {
                guard let b = peek else { throw .protocolViolation("unterminated quoted string in \(lineExcerpt)") }
                position += 1
                if b == UInt8(ascii: "\"") { break }
                if b == UInt8(ascii: "\\") {
                    guard let escaped = peek, escaped == UInt8(ascii: "\\") || escaped == UInt8(ascii: "\"") else {
                        throw .protocolViolation("bad escape in quoted string in \(lineExcerpt)")
                    }
                    position += 1
                    bytes.append(escaped)
                } else {
                    bytes.append(b)
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        if peek == UInt8(ascii: "{") {
            // The line ends with {n}; the parser put the literal in the next segment.
            guard segment + 2 < segments.count, case .literal(let bytes) = segments[segment + 1] else {
                throw .protocolViolation("literal without its data in \(lineExcerpt)")
            }
            segment += 2
            position = 0
            return String(decoding: bytes, as: UTF8.self)
        }
        var s = ""
        while let b = peek, Self.isAtomChar(b) || b == UInt8(ascii: "]") {
            s.append(Character(UnicodeScalar(b)))
            position += 1
        }
        guard !s.isEmpty else { throw .protocolViolation("expected a string at byte \(position) of \(lineExcerpt)") }
        return s
    }
}
