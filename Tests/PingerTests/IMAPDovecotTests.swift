import NIOCore
import NIOPosix
import BeaconTestSupport
import Testing
@testable import PingerService

/// The IMAP client against the real dovecots that `make test` starts. Each
/// test has a mail user of its own (mail01 .. mail12), so tests running at
/// once never see each other's mail.
@Suite struct IMAPDovecotTests {
    private let group = MultiThreadedEventLoopGroup.singleton

    private func connect(port: Int, tls mode: IMAPTLSMode, host: String = "localhost", ca: Bool = true) async throws -> IMAPConnection {
        try await IMAPConnection.connect(
            IMAPTestServers.endpoint(port: port, tls: mode, host: host),
            tls: ca ? try IMAPTestServers.tls() : IMAPTLSSettings(), on: group, timeout: .seconds(10), commandTimeout: .seconds(10))
    }

    @Test func implicitTLSLoginExamine() async throws {
        let connection = try await connect(port: try IMAPTestServers.imapsPort(), tls: .implicit)
        defer { connection.close() }
        #expect(connection.capabilities.contains("AUTH=PLAIN"))
        try await connection.login(username: "mail01", password: "pw-mail01")
        #expect(connection.capabilities.contains("IDLE"))
        let before = try await connection.examine("INBOX")
        #expect(before.uidNext >= 1)
        #expect(before.uidValidity > 0)
        try await TestMailbox.append(user: "mail01", port: try IMAPTestServers.imapPort(), subject: "implicit TLS")
        let after = try await connection.examine("INBOX")
        #expect(after.uidNext == before.uidNext + 1)
        #expect(after.messages == before.messages + 1)
        #expect(after.uidValidity == before.uidValidity)
        try await connection.noop()
        await connection.logout()
        #expect(!connection.isOpen)
    }

    @Test func startTLS() async throws {
        let connection = try await connect(port: try IMAPTestServers.imapPort(), tls: .starttls)
        defer { connection.close() }
        // Read again over TLS: dovecot no longer offers STARTTLS there.
        #expect(!connection.capabilities.contains("STARTTLS"))
        #expect(connection.capabilities.contains("AUTH=PLAIN"))
        try await connection.login(username: "mail02", password: "pw-mail02")
        let status = try await connection.examine("INBOX")
        #expect(status.uidNext >= 1)
        await connection.logout()
    }

    @Test func plaintext() async throws {
        let connection = try await connect(port: try IMAPTestServers.imapPort(), tls: .none)
        defer { connection.close() }
        #expect(connection.capabilities.contains("STARTTLS"))
        try await connection.login(username: "mail03", password: "pw-mail03")
        let status = try await connection.examine("INBOX")
        #expect(status.messages >= 0)
        let polled = try await connection.status("INBOX")
        #expect(polled.uidNext == status.uidNext)
        await connection.logout()
    }

    @Test func wrongPassword() async throws {
        let connection = try await connect(port: try IMAPTestServers.imapPort(), tls: .starttls)
        defer { connection.close() }
        do {
            try await connection.login(username: "mail04", password: "not-the-password")
            Issue.record("login with a wrong password succeeded")
        } catch {
            #expect(error.isAuthenticationFailure)
            #expect(!"\(error)".contains("not-the-password"))
            guard case .authenticationFailed(let message) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("AUTHENTICATIONFAILED"))
        }
    }

    @Test func xoauth2IsRefusedWhereNotOffered() async throws {
        let connection = try await connect(port: try IMAPTestServers.imapPort(), tls: .none)
        defer { connection.close() }
        await #expect(throws: IMAPError.authenticationFailed("the server does not offer AUTH=XOAUTH2")) {
            try await connection.authenticateXOAUTH2(username: "mail10", accessToken: "token")
        }
    }

    @Test(arguments: [IMAPTLSMode.implicit, .starttls])
    func tlsWithoutTheCAFails(mode: IMAPTLSMode) async throws {
        let port = mode == .implicit ? try IMAPTestServers.imapsPort() : try IMAPTestServers.imapPort()
        do {
            let connection = try await connect(port: port, tls: mode, ca: false)
            connection.close()
            Issue.record("TLS without the test CA succeeded")
        } catch {
            guard case .tlsFailed = error as? IMAPError else { Issue.record("expected tlsFailed, got \(error)"); return }
        }
    }

    @Test func tlsWithTheWrongHostNameFails() async throws {
        do {
            let connection = try await connect(port: try IMAPTestServers.imapsPort(), tls: .implicit, host: "imap.example.com")
            connection.close()
            Issue.record("a certificate for localhost was accepted for imap.example.com")
        } catch {
            guard case .tlsFailed = error as? IMAPError else { Issue.record("expected tlsFailed, got \(error)"); return }
        }
    }

    @Test func tlsToAnIPAddress() async throws {
        // No SNI; the certificate's IP:127.0.0.1 is checked.
        let connection = try await connect(port: try IMAPTestServers.imapsPort(), tls: .implicit, host: "127.0.0.1")
        connection.close()
    }

    @Test func idleWakesOnNewMail() async throws {
        let connection = try await IMAPTestServers.session("mail05", port: try IMAPTestServers.imapPort(), tls: .starttls)
        defer { connection.close() }
        let before = try await connection.examine("INBOX")
        let start = ContinuousClock.now
        async let wake = connection.idle(for: .seconds(60))
        try await TestMailbox.append(user: "mail05", port: try IMAPTestServers.imapPort(), subject: "wake up")
        let result = try await wake
        #expect(result == .changed(exists: before.messages + 1))
        #expect(ContinuousClock.now - start < .seconds(30))
        let after = try await connection.examine("INBOX")
        #expect(after.uidNext == before.uidNext + 1)
        await connection.logout()
    }

    @Test func idleTimesOutWithoutMail() async throws {
        let connection = try await IMAPTestServers.session("mail06", port: try IMAPTestServers.imapsPort(), tls: .implicit)
        defer { connection.close() }
        _ = try await connection.examine("INBOX")
        let start = ContinuousClock.now
        #expect(try await connection.idle(for: .seconds(1)) == .timedOut)
        #expect(ContinuousClock.now - start >= .seconds(1))
        // The session is still usable after DONE.
        #expect(try await connection.idle(for: .milliseconds(200)) == .timedOut)
        try await connection.noop()
        await connection.logout()
    }

    @Test func logoutEndsIdle() async throws {
        let connection = try await IMAPTestServers.session("mail07", port: try IMAPTestServers.imapPort(), tls: .none)
        _ = try await connection.examine("INBOX")
        async let wake = connection.idle(for: .seconds(60))
        try await Await.condition("IDLE started", timeout: .seconds(10)) { await connection.isIdling }
        let start = ContinuousClock.now
        await connection.logout()
        #expect(try await wake == .interrupted)
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(!connection.isOpen)
    }

    @Test func closeEndsIdle() async throws {
        let connection = try await IMAPTestServers.session("mail08", port: try IMAPTestServers.imapPort(), tls: .none)
        _ = try await connection.examine("INBOX")
        async let wake = connection.idle(for: .seconds(60))
        try await Await.condition("IDLE started", timeout: .seconds(10)) { await connection.isIdling }
        connection.close()
        do {
            let result = try await wake
            Issue.record("IDLE returned \(result) after close()")
        } catch {
            #expect(error as? IMAPError == .closed("closed by the client"))
        }
        try await connection.closeFuture.get()
    }

    @Test func serverWithoutIdleIsPolled() async throws {
        let port = try IMAPTestServers.noIdlePort()
        let connection = try await IMAPTestServers.session("mail09", port: port, tls: .starttls)
        defer { connection.close() }
        #expect(!connection.capabilities.contains("IDLE"))
        await #expect(throws: IMAPError.self) { _ = try await connection.idle(for: .seconds(1)) }
        let before = try await connection.status("INBOX")
        try await TestMailbox.append(user: "mail09", port: port, subject: "poll me")
        let after = try await connection.status("INBOX")
        #expect(after.uidNext == before.uidNext + 1)
        #expect(after.messages == before.messages + 1)
        #expect(after.uidValidity == before.uidValidity)
        await connection.logout()
    }

    @Test func appenderReturnsTheUID() async throws {
        let port = try IMAPTestServers.imapPort()
        let first = try await TestMailbox.append(user: "mail11", port: port, subject: "one")
        let second = try await TestMailbox.append(user: "mail11", port: port, subject: "two")
        #expect(first != nil)
        #expect(second == first.map { $0 + 1 })
    }

    @Test func connectToAClosedPortFails() async throws {
        // A port just freed: nothing listens there.
        let channel = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        await #expect(throws: IMAPError.self) {
            _ = try await connect(port: port, tls: .none)
        }
    }
}
