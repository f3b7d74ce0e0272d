import Foundation
import NIOCore

/// Lines of an IMAP client, without their CRLF.
struct IMAPLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = String
    static let maximumLine = 64 * 1024

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maximumLine { throw IMAPLoadError("a line of more than \(Self.maximumLine) bytes") }
            return .needMoreData
        }
        var line = buffer.readString(length: newline - buffer.readerIndex) ?? ""
        buffer.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// One client connection: the IMAP subset the pinger speaks, on the
/// server's event loop.
final class IMAPLoadSession: ChannelInboundHandler {
    typealias InboundIn = String
    typealias OutboundOut = ByteBuffer

    static let capabilities = "IMAP4rev1 IDLE AUTH=PLAIN"

    private let server: IMAPLoadServer
    private var context: ChannelHandlerContext?
    private var username: String?
    /// The selected mailbox's owner, and the EXISTS this client last heard.
    private var selected: String?
    private var reportedExists = 0
    private var idleTag: String?
    /// AUTHENTICATE PLAIN waiting for its continuation line.
    private var authenticateTag: String?
    /// A command cut by a literal (`{n}`): its text so far and the bytes still owed.
    private var literal: (head: String, size: Int, collected: String)?

    init(server: IMAPLoadServer) {
        self.server = server
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        server.connected()
        send("* OK [CAPABILITY \(Self.capabilities)] ready")
        context.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if idleTag != nil { server.idleChanged(by: -1) }
        idleTag = nil
        if let selected { server.unwatch(selected, by: self) }
        selected = nil
        if let username { server.loggedOut(username) }
        username = nil
        server.disconnected()
        self.context = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        if let pending = literal {
            receiveLiteral(pending, line)
        } else if let tag = authenticateTag {
            authenticateTag = nil
            finishPlain(tag: tag, response: line)
        } else if let tag = idleTag {
            endIdle(tag: tag, line: line)
        } else {
            command(line)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    /// New mail in the selected mailbox: told at once in IDLE, otherwise at
    /// the next NOOP or IDLE.
    func mailArrived(_ mailbox: IMAPLoadServer.Mailbox) {
        guard idleTag != nil, let context else { return }
        reportedExists = mailbox.exists
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: "* \(mailbox.exists) EXISTS\r\n")), promise: nil)
    }

    // MARK: Commands

    private func send(_ line: String) {
        guard let context else { return }
        context.write(wrapOutboundOut(context.channel.allocator.buffer(string: line + "\r\n")), promise: nil)
    }

    /// Literals are turned into quoted strings, so the parser sees one line.
    private func receiveLiteral(_ pending: (head: String, size: Int, collected: String), _ line: String) {
        var collected = pending.collected.isEmpty ? line : pending.collected + "\r\n" + line
        guard collected.utf8.count >= pending.size else {
            literal = (pending.head, pending.size, collected)
            return
        }
        literal = nil
        let bytes = Array(collected.utf8)
        let value = String(decoding: bytes[..<pending.size], as: UTF8.self)
        collected = String(decoding: bytes[pending.size...], as: UTF8.self)
        command(pending.head + Self.quoted(value) + collected)
    }

    private func command(_ text: String) {
        // A trailing {n} or {n+}: the next n bytes belong to this command.
        if text.hasSuffix("}"), let open = text.lastIndex(of: "{") {
            var digits = text[text.index(after: open)..<text.index(before: text.endIndex)]
            let nonSynchronizing = digits.hasSuffix("+")
            if nonSynchronizing { digits = digits.dropLast() }
            if let size = Int(digits) {
                literal = (String(text[..<open]), size, "")
                if !nonSynchronizing { send("+ Ready for literal data") }
                return
            }
        }
        let tokens = Self.tokens(text)
        guard tokens.count >= 2 else {
            send("* BAD empty or untagged command")
            return
        }
        let tag = tokens[0], name = tokens[1].uppercased(), args = Array(tokens.dropFirst(2))
        switch name {
        case "CAPABILITY":
            send("* CAPABILITY \(Self.capabilities)")
            send("\(tag) OK CAPABILITY completed")
        case "NOOP", "CHECK":
            reportExists()
            send("\(tag) OK \(name) completed")
        case "LOGOUT":
            send("* BYE logging out")
            send("\(tag) OK LOGOUT completed")
            context?.flush()
            context?.close(promise: nil)
        case "ID":
            send("* ID NIL")
            send("\(tag) OK ID completed")
        case "ENABLE":
            send("\(tag) OK ENABLE completed")
        case "STARTTLS":
            send("\(tag) NO no TLS here (a plaintext stand-in)")
        case "LOGIN":
            guard username == nil else { return send("\(tag) BAD already authenticated") }
            guard args.count == 2 else { return send("\(tag) BAD LOGIN needs a username and a password") }
            login(tag: tag, username: args[0], password: args[1], command: "LOGIN")
        case "AUTHENTICATE":
            guard username == nil else { return send("\(tag) BAD already authenticated") }
            guard args.first?.uppercased() == "PLAIN" else { return send("\(tag) NO [CANNOT] only AUTHENTICATE PLAIN") }
            if args.count > 1 {
                finishPlain(tag: tag, response: args[1])  // SASL-IR
            } else {
                authenticateTag = tag
                send("+ ")
            }
        case "SELECT", "EXAMINE":
            guard let username else { return send("\(tag) NO not authenticated") }
            guard args.count == 1 else { return send("\(tag) BAD \(name) needs a mailbox") }
            if let selected { server.unwatch(selected, by: self) }
            let mailbox = server.mailbox(of: username)
            selected = username
            server.watch(username, by: self)
            reportedExists = mailbox.exists
            send("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
            send("* \(mailbox.exists) EXISTS")
            send("* 0 RECENT")
            send("* OK [UIDVALIDITY \(mailbox.uidValidity)] UIDs valid")
            send("* OK [UIDNEXT \(mailbox.uidNext)] Predicted next UID")
            send("\(tag) OK [\(name == "EXAMINE" ? "READ-ONLY" : "READ-WRITE")] \(name) completed")
        case "STATUS":
            guard let username else { return send("\(tag) NO not authenticated") }
            guard args.count == 2 else { return send("\(tag) BAD STATUS needs a mailbox and a list of items") }
            let mailbox = server.mailbox(of: username)
            let items = args[1].trimmingCharacters(in: CharacterSet(charactersIn: "()")).split(separator: " ").map { $0.uppercased() }
            let values = items.map { item -> String in
                switch item {
                case "MESSAGES": "MESSAGES \(mailbox.exists)"
                case "UIDNEXT": "UIDNEXT \(mailbox.uidNext)"
                case "UIDVALIDITY": "UIDVALIDITY \(mailbox.uidValidity)"
                default: "\(item) 0"  // RECENT, UNSEEN: nothing is ever read here
                }
            }
            reportExists()
            send("* STATUS \(Self.quoted(args[0])) (\(values.joined(separator: " ")))")
            send("\(tag) OK STATUS completed")
        case "IDLE":
            guard username != nil else { return send("\(tag) NO not authenticated") }
            idleTag = tag
            server.idleChanged(by: 1)
            send("+ idling")
            // Mail that arrived since the last report (between DONE and IDLE).
            reportExists()
        case "CLOSE", "UNSELECT":
            guard selected != nil else { return send("\(tag) BAD no mailbox selected") }
            if let selected { server.unwatch(selected, by: self) }
            selected = nil
            send("\(tag) OK \(name) completed")
        default:
            send("\(tag) BAD unknown command \(name)")
        }
    }

    private func reportExists() {
        guard let selected else { return }
        let exists = server.mailbox(of: selected).exists
        if exists != reportedExists {
            reportedExists = exists
            send("* \(exists) EXISTS")
        }
    }

    private func login(tag: String, username: String, password: String, command: String) {
        if server.authenticate(username: username, password: password) {
            self.username = username
            send("\(tag) OK [CAPABILITY \(Self.capabilities)] \(command) completed")
        } else {
            server.loginFailed()
            send("\(tag) NO [AUTHENTICATIONFAILED] Invalid credentials")
        }
    }

    /// base64(authzid NUL authcid NUL password), RFC 4616; `*` cancels.
    private func finishPlain(tag: String, response: String) {
        if response == "*" { return send("\(tag) BAD AUTHENTICATE cancelled") }
        guard let decoded = response == "=" ? Data() : Data(base64Encoded: response) else {
            return send("\(tag) BAD not base64")
        }
        let parts = decoded.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard parts.count == 3 else {
            server.loginFailed()
            return send("\(tag) NO [AUTHENTICATIONFAILED] Invalid credentials")
        }
        login(tag: tag, username: parts[1], password: parts[2], command: "AUTHENTICATE")
    }

    private func endIdle(tag: String, line: String) {
        idleTag = nil
        server.idleChanged(by: -1)
        if line.uppercased() == "DONE" {
            send("\(tag) OK IDLE terminated")
        } else {
            send("\(tag) BAD expected DONE")
        }
    }

    // MARK: Parsing

    /// Atoms, quoted strings (unquoted) and parenthesised lists (kept whole).
    static func tokens(_ text: String) -> [String] {
        var out: [String] = []
        var chars = text[...]
        while let first = chars.first {
            if first == " " {
                chars = chars.dropFirst()
            } else if first == "\"" {
                var value = ""
                chars = chars.dropFirst()
                while let c = chars.first {
                    chars = chars.dropFirst()
                    if c == "\\", let next = chars.first {
                        value.append(next)
                        chars = chars.dropFirst()
                    } else if c == "\"" {
                        break
                    } else {
                        value.append(c)
                    }
                }
                out.append(value)
            } else if first == "(" {
                let end = chars.firstIndex(of: ")").map { chars.index(after: $0) } ?? chars.endIndex
                out.append(String(chars[..<end]))
                chars = chars[end...]
            } else {
                let end = chars.firstIndex(of: " ") ?? chars.endIndex
                out.append(String(chars[..<end]))
                chars = chars[end...]
            }
        }
        return out
    }

    static func quoted(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
