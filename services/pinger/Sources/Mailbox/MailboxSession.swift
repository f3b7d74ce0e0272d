import BeaconCore
import Foundation
import Logging
import NIOCore
import Synchronization

/// One registered mailbox, watched for as long as its registration lives:
/// open the sealed account, connect (through the private-address guard),
/// log in, then IDLE where the server has it (re-issued well inside the
/// 29 minutes servers allow) or poll with STATUS where it has not, and push
/// when UIDNEXT moves. A connection error reconnects with jittered backoff;
/// a failed login ends the session with a silent "register again" push.
///
/// It is a task on Swift's pool and a channel on NIO's event loops: no
/// thread of its own, so one process holds thousands.
final class MailboxSession: Sendable {
    struct Settings: Sendable {
        var allowPrivateHosts: Bool
        var caFile: String?
        var allowPlaintext: Bool
        var idleRefresh: Duration
        var pollInterval: Duration
        var connectTimeout: Duration
        var commandTimeout: Duration
        var backoffInitial: Duration
        var backoffMax: Duration
    }

    /// Why a session ended.
    enum End: Sendable, Equatable {
        /// Stopped by the device, a revoked partition, or shutdown.
        case stopped
        case expired
        /// The server refused the login: the device must register again.
        case authenticationFailed
        /// The registration cannot be used (sealed to an unknown key, a
        /// private host, plaintext refused): the device must register again.
        case refused(String)

        var metricReason: String {
            switch self {
            case .stopped: "stopped"
            case .expired: "expired"
            case .authenticationFailed: "authentication_failed"
            case .refused: "refused"
            }
        }
    }

    /// What a session needs from the pinger: shared by every session.
    struct Context: Sendable {
        let settings: Settings
        let opener: AccountOpener
        let store: RegistrationStore
        let pusher: MailPushWriter
        let metrics: PingerMetrics
        let group: any EventLoopGroup
        let logger: Logger
    }

    private struct State {
        var pausedUntil: Date?
        var watermark: MailboxWatermark?
        var metricState: PingerMetrics.SessionState?
        var task: Task<Void, Never>?
    }

    let registration: MailRegistration
    let partition: Int32
    let expiresAt: Date
    private let context: Context
    private let state: Mutex<State>
    private let onEnd: @Sendable (MailboxSession, End) -> Void
    private let logger: Logger

    var id: String { registration.registrationId }

    init(_ stored: StoredRegistration, context: Context, onEnd: @escaping @Sendable (MailboxSession, End) -> Void) {
        registration = stored.registration
        partition = stored.partition
        expiresAt = stored.expiresAt
        self.context = context
        self.onEnd = onEnd
        state = Mutex(State(pausedUntil: stored.pausedUntil, watermark: stored.watermark))
        var logger = context.logger
        logger[metadataKey: "registrationId"] = "\(stored.id)"
        self.logger = logger
        if let until = stored.pausedUntil, until > Date() { context.metrics.pausedChanged(by: 1) }
    }

    func start() {
        let task = Task { await self.run() }
        state.withLock { $0.task = task }
    }

    /// Ends the session (it logs out); `ended` runs with `.stopped`.
    func cancel() {
        state.withLock { $0.task }?.cancel()
    }

    /// Cancelled and logging out: a new session for its registration has to
    /// wait until it has ended.
    var isEnding: Bool { state.withLock { $0.task?.isCancelled ?? false } }

    /// Waits until the session has ended.
    func finished() async {
        await state.withLock { $0.task }?.value
    }

    /// Pushes nothing until `until` (nil: from now on again).
    func pause(until: Date?) {
        let change: Int = state.withLock { state in
            let was = state.pausedUntil.map { $0 > Date() } ?? false
            state.pausedUntil = until
            let now = until.map { $0 > Date() } ?? false
            return (now ? 1 : 0) - (was ? 1 : 0)
        }
        if change != 0 { context.metrics.pausedChanged(by: change) }
    }

    var watermark: MailboxWatermark? { state.withLock { $0.watermark } }

    // MARK: The session

    private func run() async {
        let end = await watchUntilEnd()
        set(nil)
        if state.withLock({ $0.pausedUntil.map { $0 > Date() } ?? false }) { context.metrics.pausedChanged(by: -1) }
        context.metrics.sessionEnded(reason: end.metricReason)
        switch end {
        case .authenticationFailed:
            await pushReregister(reason: "authentication failed")
        case .refused(let reason):
            await pushReregister(reason: reason)
        case .stopped, .expired:
            break
        }
        logger.info("mailbox session ended", metadata: ["reason": "\(end)"])
        onEnd(self, end)
    }

    private func watchUntilEnd() async -> End {
        set(.connecting)
        let account: MailAccount
        do {
            account = try context.opener.open(registration.sealedAccount, app: registration.app)
        } catch {
            logger.warning("registration refused", metadata: ["error": "\(error)"])
            return .refused(error.message)
        }
        // Doubling, each drawn from its upper half, so that a mail server
        // coming back is not met by every session at once.
        var backoff = Backoff(initial: context.settings.backoffInitial, maximum: context.settings.backoffMax)
        while !Task.isCancelled {
            guard Date() < expiresAt else { return .expired }
            set(.connecting)
            do {
                try await watch(account) { backoff.reset() }
                if Task.isCancelled { return .stopped }
                return .expired
            } catch let error as IMAPError where error.isAuthenticationFailure {
                context.metrics.loginsFailed.increment()
                logger.info("mail login failed", metadata: ["error": "\(error)", "account": "\(account)"])
                return .authenticationFailed
            } catch let error as ServiceError where error.kind == .permanent {
                logger.warning("mail host refused", metadata: ["error": "\(error)", "account": "\(account)"])
                return .refused(error.message)
            } catch {
                if Task.isCancelled { return .stopped }
                context.metrics.reconnects.increment()
                set(.backoff)
                let delay = backoff.next()
                logger.info("mail connection failed; reconnecting", metadata: [
                    "error": "\(error)", "account": "\(account)", "in": "\(delay)",
                ])
                do {
                    try await Task.sleep(for: min(delay, .seconds(max(0, expiresAt.timeIntervalSinceNow))))
                } catch {
                    return .stopped
                }
            }
        }
        return .stopped
    }

    /// One connection: returns when the registration expires or the task is
    /// cancelled, throws on any error. `connected` runs once logged in.
    private func watch(_ account: MailAccount, connected: () -> Void) async throws {
        let settings = context.settings
        let allowPrivate = settings.allowPrivateHosts
        let host = account.host
        // getaddrinfo blocks: off Swift's pool. Connecting to the address the
        // guard checked, not to the name again, keeps DNS rebinding out.
        let addresses = try await BlockingWork.run {
            try PublicAddressGuard.checkPublic(host: host, allowPrivate: allowPrivate, what: "mail")
        }
        let endpoint = IMAPEndpoint(host: account.host, address: addresses.first, port: account.port, tls: account.tls)
        let connection = try await IMAPConnection.connect(
            endpoint, tls: IMAPTLSSettings(extraCAFile: settings.caFile), on: context.group, timeout: settings.connectTimeout,
            commandTimeout: settings.commandTimeout)
        do {
            try await withTaskCancellationHandler {
                try await session(on: connection, account: account, connected: connected)
            } onCancel: {
                connection.close()
            }
        } catch {
            connection.close()
            throw error
        }
        await connection.logout()
    }

    private func session(on connection: IMAPConnection, account: MailAccount, connected: () -> Void) async throws {
        let settings = context.settings
        switch account.secret {
        case .password(let password): try await connection.login(username: account.username, password: password)
        case .xoauth2(let token): try await connection.authenticateXOAUTH2(username: account.username, accessToken: token)
        }
        if connection.capabilities.contains("IDLE") {
            let examined = try await connection.examine(account.mailbox)
            try await observe(examined, account: account)
            connected()
            set(.idle)
            logger.info("watching the mailbox with IDLE", metadata: ["account": "\(account)"])
            while !Task.isCancelled {
                let left = expiresAt.timeIntervalSinceNow
                guard left > 0 else { return }
                let wake = try await connection.idle(for: min(settings.idleRefresh, Duration.milliseconds(Int64(left * 1000))))
                if case .changed = wake {
                    try await observe(try await connection.status(account.mailbox), account: account)
                }
            }
        } else {
            connected()
            set(.polling)
            logger.info("watching the mailbox by polling (no IDLE)", metadata: ["account": "\(account)"])
            while !Task.isCancelled {
                try await observe(try await connection.status(account.mailbox), account: account)
                let left = expiresAt.timeIntervalSinceNow
                guard left > 0 else { return }
                try await Task.sleep(for: min(settings.pollInterval, Duration.milliseconds(Int64(left * 1000))))
            }
        }
    }

    /// Compares what the server says with what was pushed, and pushes new
    /// mail (unless paused); the watermark moves only once Kafka has the push.
    private func observe(_ status: IMAPMailboxStatus, account: MailAccount) async throws {
        let current = MailboxWatermark(uidValidity: status.uidValidity, uidNext: status.uidNext)
        let (stored, paused) = state.withLock { ($0.watermark, $0.pausedUntil.map { $0 > Date() } ?? false) }
        switch MailboxWatermark.change(from: stored, to: current) {
        case .unchanged:
            return
        case .baseline, .reset:
            break
        case .newMail(let count):
            context.metrics.newMail.increment(by: count)
            if !paused {
                try await context.pusher.newMail(registration, account: account, watermark: current, count: count)
            }
        }
        state.withLock { $0.watermark = current }
        await persist(current)
    }

    private func persist(_ watermark: MailboxWatermark) async {
        let store = context.store, id = self.id
        do {
            try await BlockingWork.run { try store.record(id, watermark: watermark) }
        } catch {
            // This process will not push it again; a restart before the next
            // write may, under the same request id.
            logger.warning("could not record the mailbox watermark", metadata: ["error": "\(error)"])
        }
    }

    private func pushReregister(reason: String) async {
        do {
            try await context.pusher.reregister(registration, reason: reason)
        } catch {
            logger.warning("could not send the re-register push", metadata: ["error": "\(error)"])
        }
    }

    private func set(_ new: PingerMetrics.SessionState?) {
        let old = state.withLock { state in
            defer { state.metricState = new }
            return state.metricState
        }
        context.metrics.session(from: old, to: new)
    }
}
