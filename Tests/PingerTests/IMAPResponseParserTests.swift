import NIOCore
import Testing
@testable import PingerService

/// The response parser on well-formed and malformed server bytes.
@Suite struct IMAPResponseParserTests {
    /// Every response in `text`, fed in pieces of `chunk` bytes.
    private func parse(_ text: String, chunk: Int = .max, limits: IMAPResponseParser.Limits = .init()) throws(IMAPError) -> [IMAPResponse] {
        try parse(Array(text.utf8), chunk: chunk, limits: limits)
    }

    private func parse(_ bytes: [UInt8], chunk: Int = .max, limits: IMAPResponseParser.Limits = .init()) throws(IMAPError) -> [IMAPResponse] {
        var parser = IMAPResponseParser(limits: limits)
        var buffer = ByteBuffer()
        var responses: [IMAPResponse] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + min(chunk, bytes.count))
            buffer.writeBytes(bytes[offset..<end])
            offset = end
            while let response = try parser.next(from: &buffer) { responses.append(response) }
        }
        return responses
    }

    private func violation(_ text: String, limits: IMAPResponseParser.Limits = .init()) -> String? {
        violation(Array(text.utf8), limits: limits)
    }

    private func violation(_ bytes: [UInt8], limits: IMAPResponseParser.Limits = .init()) -> String? {
        do {
            _ = try parse(bytes, limits: limits)
            return nil
        } catch {
            if case .protocolViolation(let message) = error { return message }
            return "not a protocol violation: \(error)"
        }
    }

    @Test func greetingWithCapabilities() throws {
        let responses = try parse("* OK [CAPABILITY IMAP4rev1 SASL-IR idle AUTH=PLAIN] Dovecot ready.\r\n")
        #expect(responses == [.untaggedStatus(IMAPStatusResponse(kind: .ok, code: .capability(["IMAP4REV1", "SASL-IR", "IDLE", "AUTH=PLAIN"]), text: "Dovecot ready."))])
    }

    @Test func examineReplyByteByByte() throws {
        let reply = """
            * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r
            * OK [PERMANENTFLAGS ()] Read-only mailbox.\r
            * 3 EXISTS\r
            * 0 RECENT\r
            * OK [UIDVALIDITY 1796193504] UIDs valid\r
            * OK [UIDNEXT 4] Predicted next UID\r
            B7 OK [READ-ONLY] Examine completed.\r

            """
        let responses = try parse(reply, chunk: 1)
        #expect(responses.count == 7)
        #expect(responses[0] == .other("FLAGS"))
        #expect(responses[1] == .untaggedStatus(IMAPStatusResponse(kind: .ok, code: .other(name: "PERMANENTFLAGS", argument: "()"), text: "Read-only mailbox.")))
        #expect(responses[2] == .exists(3))
        #expect(responses[3] == .recent(0))
        #expect(responses[4] == .untaggedStatus(IMAPStatusResponse(kind: .ok, code: .uidValidity(1_796_193_504), text: "UIDs valid")))
        #expect(responses[5] == .untaggedStatus(IMAPStatusResponse(kind: .ok, code: .uidNext(4), text: "Predicted next UID")))
        #expect(responses[6] == .tagged(tag: "B7", IMAPStatusResponse(kind: .ok, code: .other(name: "READ-ONLY", argument: nil), text: "Examine completed.")))
    }

    @Test func statusWithQuotedAndLiteralMailbox() throws {
        let responses = try parse("* STATUS \"In \\\"box\\\\\" (MESSAGES 2 UIDNEXT 9 UIDVALIDITY 77)\r\n* STATUS {5}\r\nINBOX (UIDNEXT 3)\r\n")
        #expect(responses == [
            .status(mailbox: "In \"box\\", ["MESSAGES": 2, "UIDNEXT": 9, "UIDVALIDITY": 77]),
            .status(mailbox: "INBOX", ["UIDNEXT": 3]),
        ])
    }

    @Test func continuationsAndFetch() throws {
        let responses = try parse("+ idling\r\n+\r\n* 4 FETCH (FLAGS (\\Seen))\r\n* 2 EXPUNGE\r\n")
        #expect(responses == [.continuation("idling"), .continuation(""), .fetch(4), .expunge(2)])
    }

    @Test func literalInOtherData() throws {
        // A literal that itself contains CRLF and a "tag OK" must not end the response.
        let responses = try parse("* LIST () \"/\" {11}\r\nB1 OK x\r\nyz\r\nB1 OK done\r\n")
        #expect(responses == [.other("LIST"), .tagged(tag: "B1", IMAPStatusResponse(kind: .ok, text: "done"))])
    }

    @Test func truncatedLineWaitsForMore() throws {
        var parser = IMAPResponseParser()
        var buffer = ByteBuffer(string: "B1 OK comp")
        #expect(try parser.next(from: &buffer) == nil)
        #expect(parser.isInsideResponse)
        buffer.writeString("leted\r\n")
        #expect(try parser.next(from: &buffer) == .tagged(tag: "B1", IMAPStatusResponse(kind: .ok, text: "completed")))
        #expect(!parser.isInsideResponse)
    }

    @Test func missingCRLF() {
        #expect(violation("B1 OK done\n") != nil)
        #expect(violation("\n") != nil)
        #expect(violation("* OK a\rb\r\n")?.contains("CR") == true)
    }

    @Test func overlongLineWithoutLF() {
        let limits = IMAPResponseParser.Limits(maxLineLength: 1024)
        #expect(violation(String(repeating: "x", count: 2000), limits: limits)?.contains("longer") == true)
        #expect(violation("* OK " + String(repeating: "x", count: 2000) + "\r\n", limits: limits)?.contains("longer") == true)
    }

    @Test func giantLiteral() {
        #expect(violation("* LIST () \"/\" {99999999}\r\n")?.contains("literal") == true)
        #expect(violation("* LIST () \"/\" {99999999999999999999}\r\n") != nil)
        #expect(violation("* LIST () \"/\" {12x}\r\n") != nil)
        #expect(violation("* LIST () \"/\" {}\r\n") != nil)
    }

    @Test func manyLiteralsOverTheResponseLimit() {
        let limits = IMAPResponseParser.Limits(maxLineLength: 1024, maxLiteralLength: 1024, maxResponseLength: 4096)
        var text = "* LIST"
        for _ in 0..<8 { text += " {1000}\r\n" + String(repeating: "a", count: 1000) }
        #expect(violation(text + "\r\n", limits: limits)?.contains("response longer") == true)
    }

    @Test func badTags() {
        #expect(violation("(B1 OK done\r\n") != nil)
        #expect(violation(" OK done\r\n") != nil)
        #expect(violation("B1\u{1} OK done\r\n") != nil)
        #expect(violation("B1 FINE done\r\n")?.contains("instead of OK") == true)
        #expect(violation("B1 PREAUTH done\r\n") != nil)
        #expect(violation("B1\r\n") != nil)
    }

    @Test func nonNumericCodesAndCounts() {
        #expect(violation("* OK [UIDNEXT abc] next\r\n")?.contains("UIDNEXT") == true)
        #expect(violation("* OK [UIDNEXT 12a] next\r\n")?.contains("UIDNEXT") == true)
        #expect(violation("* OK [UIDNEXT] next\r\n")?.contains("UIDNEXT") == true)
        #expect(violation("* OK [UIDNEXT 0] next\r\n")?.contains("UIDNEXT") == true)
        #expect(violation("* OK [UIDVALIDITY 99999999999] v\r\n")?.contains("UIDVALIDITY") == true)
        #expect(violation("* OK [UIDNEXT 5 next\r\n") != nil)
        #expect(violation("* 3x EXISTS\r\n") != nil)
        #expect(violation("* 3 EXISTS now\r\n") != nil)
        #expect(violation("* 99999999999 EXISTS\r\n") != nil)
        #expect(violation("* STATUS INBOX (UIDNEXT x)\r\n")?.contains("STATUS UIDNEXT") == true)
        #expect(violation("* STATUS INBOX (UIDNEXT 3\r\n") != nil)
    }

    @Test func garbageBytes() {
        #expect(violation([0xFF, 0xFE, 0x00, 0x13, 0x0D, 0x0A]) != nil)
        #expect(violation("HTTP/1.1 400 Bad Request\r\n") != nil)
        #expect(violation("*\r\n") != nil)
        #expect(violation("* \r\n") != nil)
        #expect(violation([UInt8]("* OK a".utf8) + [0] + [UInt8]("b\r\n".utf8))?.contains("NUL") == true)
        #expect(violation("* STATUS \"unterminated\r\n") != nil)
    }

    @Test func eightBitTextIsKept() throws {
        #expect(try parse("* OK Grüße\r\n") == [.untaggedStatus(IMAPStatusResponse(kind: .ok, text: "Grüße"))])
    }
}
