import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One IMAP session: connect (with TLS as the endpoint says), authenticate,
/// examine a mailbox, IDLE or poll. Commands run one at a time in the order
/// they were called; a command called while IDLE runs ends the IDLE first.
/// Every command has `commandTimeout`; a timeout, a BYE or a malformed reply
/// closes the connection, and every later call fails with that error.
public final class IMAPConnection: Sendable {
    public let endpoint: IMAPEndpoint
    public let commandTimeout: Duration
    private let channel: any Channel
    private let handler: NIOLoopBound<IMAPClientHandler>
    private let tlsSettings: IMAPTLSSettings
    private let capabilityNames: Mutex<Set<String>>

    /// What the server says it can do now (uppercased): from the greeting,
    /// again after STARTTLS and after authentication.
    public var capabilities: Set<String> { capabilityNames.withLock { $0 } }
    public var isOpen: Bool { channel.isActive }
    /// Completes when the connection is closed, by either side.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    private init(endpoint: IMAPEndpoint, tlsSettings: IMAPTLSSettings, commandTimeout: Duration, channel: any Channel,
                 handler: NIOLoopBound<IMAPClientHandler>, capabilities: Set<String>) {
        self.endpoint = endpoint
        self.tlsSettings = tlsSettings
        self.commandTimeout = commandTimeout
        self.channel = channel
        self.handler = handler
        self.capabilityNames = Mutex(capabilities)
    }

    // MARK: - connecting

    /// Connects, reads the greeting and the capabilities, and does STARTTLS
    /// when the endpoint asks for it; `timeout` bounds all of that.
    public static func connect(
        _ endpoint: IMAPEndpoint, tls: IMAPTLSSettings, on group: any EventLoopGroup,
        timeout: Duration, commandTimeout: Duration = .seconds(30)
    ) async throws(IMAPError) -> IMAPConnection {
        let tlsContext = endpoint.tls == .none ? nil : try tls.context()
        let implicitTLS = endpoint.tls == .implicit ? tlsContext : nil
        let serverName = endpoint.serverNameIndication
        let greetingTimeout = TimeAmount(timeout)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(greetingTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
        let channel: any Channel
        let handler: NIOLoopBound<IMAPClientHandler>
        let greetingFuture: EventLoopFuture<IMAPStatusResponse>
        do {
            // The handler is taken here, not looked up later: a TLS failure
            // can close the channel (and remove it) before connect returns.
            (channel, handler, greetingFuture) = try await bootstrap.connect(host: endpoint.address ?? endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let implicitTLS {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: implicitTLS, serverHostname: serverName))
                    }
                    let handler = IMAPClientHandler(
                        eventLoop: channel.eventLoop, greetingTimeout: greetingTimeout, certificateName: tlsContext == nil ? nil : serverName)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    return (channel, NIOLoopBound(handler, eventLoop: channel.eventLoop), handler.greetingFuture)
                }
            }
        } catch {
            throw .connectFailed("\(endpoint.address ?? endpoint.host):\(endpoint.port): \(error)")
        }
        let connection = IMAPConnection(endpoint: endpoint, tlsSettings: tls, commandTimeout: commandTimeout, channel: channel,
                                        handler: handler, capabilities: [])
        do throws(IMAPError) {
            let greeting = try await wait(greetingFuture)
            if case .capability(let names) = greeting.code {
                connection.capabilityNames.withLock { $0 = names }
            } else {
                try await connection.refreshCapabilities()
            }
            if endpoint.tls == .starttls, let tlsContext {
                guard greeting.kind != .preauth else { throw IMAPError.tlsFailed("the server greeted with PREAUTH: STARTTLS is not possible") }
                try await connection.startTLS(tlsContext, serverName: serverName)
            }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    private func startTLS(_ context: NIOSSLContext, serverName: String?) async throws(IMAPError) {
        guard capabilities.contains("STARTTLS") else {
            throw .tlsFailed("the server does not offer STARTTLS (its capabilities: \(capabilities.sorted().joined(separator: " ")))")
        }
        let outcome = try await run(try IMAPCommand("STARTTLS", purpose: .starttls)) {
            try NIOSSLClientHandler(context: context, serverHostname: serverName)
        }
        guard outcome.status.kind == .ok else { throw .tlsFailed("the server refused STARTTLS: \(outcome.status.summary)") }
        // What was said before TLS may have been tampered with: ask again, over TLS.
        capabilityNames.withLock { $0 = [] }
        try await refreshCapabilities()
    }

    private func refreshCapabilities() async throws(IMAPError) {
        let outcome = try await run(try IMAPCommand("CAPABILITY"))
        try check(outcome, "CAPABILITY")
        guard outcome.capabilities != nil else {
            throw .protocolViolation("CAPABILITY answered without a CAPABILITY response")
        }
    }

    // MARK: - authentication

    /// AUTHENTICATE PLAIN when the server offers AUTH=PLAIN (with the
    /// initial response when it offers SASL-IR), else LOGIN; refused when
    /// the server says LOGINDISABLED and offers no PLAIN.
    public func login(username: String, password: String) async throws(IMAPError) {
        let caps = capabilities
        if caps.contains("AUTH=PLAIN") {
            let response = IMAPBase64.encode([0] + Array(username.utf8) + [0] + Array(password.utf8))
            try await authenticate(mechanism: "PLAIN", response: response)
            return
        }
        guard !caps.contains("LOGINDISABLED") else {
            throw .authenticationFailed("the server disables LOGIN here (LOGINDISABLED) and offers no AUTH=PLAIN")
        }
        let command = try IMAPCommand("LOGIN", purpose: .authentication, arguments: [.string(username), .string(password)],
                                      literalPlus: caps.contains("LITERAL+"))
        try await finishAuthentication(try await run(command), "LOGIN")
    }

    /// AUTHENTICATE XOAUTH2 (Gmail, Outlook) with an OAuth2 access token.
    public func authenticateXOAUTH2(username: String, accessToken: String) async throws(IMAPError) {
        guard capabilities.contains("AUTH=XOAUTH2") else {
            throw .authenticationFailed("the server does not offer AUTH=XOAUTH2")
        }
        let response = IMAPBase64.encode(Array("user=\(username)\u{1}auth=Bearer \(accessToken)\u{1}\u{1}".utf8))
        try await authenticate(mechanism: "XOAUTH2", response: response)
    }

    private func authenticate(mechanism: String, response: [UInt8]) async throws(IMAPError) {
        let head = Array("AUTHENTICATE \(mechanism)".utf8)
        let chunks: [[UInt8]] =
            capabilities.contains("SASL-IR")
            ? [head + [UInt8(ascii: " ")] + response + Array("\r\n".utf8)]
            : [head + Array("\r\n".utf8), response + Array("\r\n".utf8)]
        let outcome = try await run(IMAPCommand("AUTHENTICATE \(mechanism)", purpose: .authentication, chunks: chunks))
        try await finishAuthentication(outcome, "AUTHENTICATE \(mechanism)")
    }

    /// Codes that say the server, not the credentials, is the problem (RFC 5530).
    private static let temporaryCodes: Set<String> = ["UNAVAILABLE", "SERVERBUG", "INUSE", "LIMIT"]

    private func finishAuthentication(_ outcome: IMAPClientHandler.Outcome, _ name: String) async throws(IMAPError) {
        guard outcome.status.kind == .ok else {
            if let code = outcome.status.code?.name, Self.temporaryCodes.contains(code) {
                throw .commandFailed(command: name, response: outcome.status.summary)
            }
            throw .authenticationFailed("\(name): \(outcome.status.summary)")
        }
        // The capabilities change after login; most servers send them with the OK.
        if outcome.capabilities == nil {
            try await refreshCapabilities()
        }
    }

    // MARK: - mailboxes

    /// EXAMINE (read-only SELECT): UIDVALIDITY, UIDNEXT and EXISTS. Changes
    /// seen before this are forgotten: it is the new baseline.
    public func examine(_ mailbox: String) async throws(IMAPError) -> IMAPMailboxStatus {
        let outcome = try await run(try IMAPCommand("EXAMINE", purpose: .examine, arguments: [.string(mailbox)], literalPlus: literalPlus))
        try check(outcome, "EXAMINE")
        var uidValidity: UInt32?, uidNext: UInt32?, exists: Int?
        for response in outcome.untagged {
            switch response {
            case .exists(let n): exists = n
            case .untaggedStatus(let status):
                switch status.code {
                case .uidValidity(let n): uidValidity = n
                case .uidNext(let n): uidNext = n
                default: break
                }
            default: break
            }
        }
        guard let uidValidity, let uidNext, let exists else {
            throw .protocolViolation("EXAMINE answered without \(uidValidity == nil ? "UIDVALIDITY" : uidNext == nil ? "UIDNEXT" : "EXISTS")")
        }
        return IMAPMailboxStatus(uidValidity: uidValidity, uidNext: uidNext, messages: exists)
    }

    /// STATUS mailbox (UIDNEXT MESSAGES UIDVALIDITY): for polling where there is no IDLE.
    public func status(_ mailbox: String) async throws(IMAPError) -> IMAPMailboxStatus {
        let command = try IMAPCommand("STATUS", arguments: [.string(mailbox), .atom("(UIDNEXT MESSAGES UIDVALIDITY)")], literalPlus: literalPlus)
        let outcome = try await run(command)
        try check(outcome, "STATUS")
        for case .status(_, let items) in outcome.untagged {
            guard let next = items["UIDNEXT"], let validity = items["UIDVALIDITY"], let messages = items["MESSAGES"],
                let uidNext = UInt32(exactly: next), uidNext > 0, let uidValidity = UInt32(exactly: validity), uidValidity > 0,
                let count = Int(exactly: messages)
            else {
                throw .protocolViolation("STATUS without valid UIDNEXT, UIDVALIDITY and MESSAGES")
            }
            return IMAPMailboxStatus(uidValidity: uidValidity, uidNext: uidNext, messages: count)
        }
        throw .protocolViolation("STATUS answered without a STATUS response")
    }

    // MARK: - waiting for mail

    /// IDLE (RFC 2177) until the server reports a change or `duration` has
    /// passed, then DONE and its OK. Returns at once with `.changed` when a
    /// change came since the last EXAMINE or IDLE (in a NOOP's reply, say).
    /// Ends early with `.interrupted` when another command is called or
    /// `interruptIdle()`; close() fails it with `.closed`.
    public func idle(for duration: Duration) async throws(IMAPError) -> IMAPIdleWake {
        guard capabilities.contains("IDLE") else {
            throw .commandFailed(command: "IDLE", response: "the server does not offer IDLE: poll with STATUS or NOOP")
        }
        let handler = self.handler
        let timeout = TimeAmount(commandTimeout)
        let promise = channel.eventLoop.makePromise(of: IMAPClientHandler.Outcome.self)
        channel.eventLoop.execute { handler.value.idle(for: duration, timeout: timeout, promise: promise) }
        let outcome = try await Self.wait(promise.futureResult)
        try check(outcome, "IDLE")
        return outcome.idleWake ?? .timedOut
    }

    /// True while an IDLE runs (the server accepted it and no DONE was sent).
    public var isIdling: Bool {
        get async {
            let handler = self.handler
            return (try? await channel.eventLoop.submit { handler.value.isIdling }.get()) ?? false
        }
    }

    /// Ends a running IDLE now; it returns `.interrupted`.
    public func interruptIdle() {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.interruptIdle() }
    }

    public func noop() async throws(IMAPError) {
        try check(try await run(try IMAPCommand("NOOP")), "NOOP")
    }

    /// LOGOUT, best effort, within min(commandTimeout, 5 s); then closed.
    public func logout() async {
        let timeout = min(commandTimeout, .seconds(5))
        _ = try? await run(try IMAPCommand("LOGOUT", purpose: .logout), timeout: timeout)
        close()
        try? await closeFuture.get()
    }

    /// Closes at once; waiting commands fail with `.closed`.
    public func close() {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.closeByClient() }
    }

    // MARK: - running commands

    private var literalPlus: Bool { capabilities.contains("LITERAL+") }

    private func run(
        _ command: IMAPCommand, timeout: Duration? = nil,
        makeTLSHandler: (@Sendable () throws -> NIOSSLClientHandler)? = nil
    ) async throws(IMAPError) -> IMAPClientHandler.Outcome {
        let handler = self.handler
        let amount = TimeAmount(timeout ?? commandTimeout)
        let promise = channel.eventLoop.makePromise(of: IMAPClientHandler.Outcome.self)
        channel.eventLoop.execute {
            handler.value.enqueue(command, timeout: amount, promise: promise, makeTLSHandler: makeTLSHandler)
        }
        let outcome = try await Self.wait(promise.futureResult)
        noteCapabilities(outcome)
        return outcome
    }

    private func noteCapabilities(_ outcome: IMAPClientHandler.Outcome) {
        if let names = outcome.capabilities { capabilityNames.withLock { $0 = names } }
    }

    private func check(_ outcome: IMAPClientHandler.Outcome, _ name: String) throws(IMAPError) {
        guard outcome.status.kind == .ok else { throw .commandFailed(command: name, response: outcome.status.summary) }
    }

    private static func wait<T: Sendable>(_ future: EventLoopFuture<T>) async throws(IMAPError) -> T {
        do {
            return try await future.get()
        } catch let error as IMAPError {
            throw error
        } catch {
            throw .closed("\(error)")
        }
    }
}
