import Foundation
import NIOCore

/// The load server's state: every mailbox, every session, the delivery
/// schedule. Only ever touched on `loop` (sessions run their handlers there,
/// the command hops onto it), hence unchecked Sendable and no locks.
final class IMAPLoadServer: @unchecked Sendable {
    struct Mailbox {
        var uidValidity: UInt32
        var uidNext: UInt32
        var exists: Int
    }

    let loop: any EventLoop
    let recorder: DeliveryRecorder
    let initialMessages: Int
    var port = 0
    /// One UIDVALIDITY for every mailbox: the start time, as servers often pick.
    private let uidValidity = UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970))
    private var mailboxes: [String: Mailbox] = [:]
    /// Sessions that have a mailbox selected, by username: who hears `* n EXISTS`.
    private var watchers: [String: [ObjectIdentifier: IMAPLoadSession]] = [:]
    /// Logged-in sessions by username, and the usernames in delivery order.
    private var loggedIn: [String: Int] = [:]
    private var rotation: [String] = []
    private var rotationIndex: [String: Int] = [:]
    private var cursor = 0

    private(set) var connections = 0
    private(set) var idling = 0
    private(set) var failedLogins = 0
    private(set) var delivered = 0
    private(set) var deliveredToNobody = 0
    private var ticks = 0

    private var delivery: (started: NIODeadline, rate: Double, until: NIODeadline?, done: Int, task: RepeatedTask)?

    init(loop: any EventLoop, recorder: DeliveryRecorder, initialMessages: Int) {
        self.loop = loop
        self.recorder = recorder
        self.initialMessages = initialMessages
    }

    func tick() -> Int {
        ticks += 1
        return ticks
    }

    // MARK: Sessions

    func connected() { connections += 1 }
    func disconnected() { connections -= 1 }
    func idleChanged(by delta: Int) { idling += delta }
    func loginFailed() { failedLogins += 1 }

    func authenticate(username: String, password: String) -> Bool {
        guard !username.isEmpty, password == "pw-" + username else { return false }
        loggedIn[username, default: 0] += 1
        if rotationIndex[username] == nil {
            rotationIndex[username] = rotation.count
            rotation.append(username)
        }
        return true
    }

    func loggedOut(_ username: String) {
        guard let count = loggedIn[username] else { return }
        if count > 1 {
            loggedIn[username] = count - 1
            return
        }
        loggedIn[username] = nil
        // Swap-remove keeps this O(1); the round robin only loses its place once.
        if let index = rotationIndex.removeValue(forKey: username) {
            let last = rotation.removeLast()
            if index < rotation.count {
                rotation[index] = last
                rotationIndex[last] = index
            }
        }
    }

    /// The user's one mailbox, whatever name the client gives it.
    func mailbox(of username: String) -> Mailbox {
        if let mailbox = mailboxes[username] { return mailbox }
        let mailbox = Mailbox(uidValidity: uidValidity, uidNext: UInt32(initialMessages + 1), exists: initialMessages)
        mailboxes[username] = mailbox
        return mailbox
    }

    func watch(_ username: String, by session: IMAPLoadSession) {
        watchers[username, default: [:]][ObjectIdentifier(session)] = session
    }

    func unwatch(_ username: String, by session: IMAPLoadSession) {
        watchers[username]?[ObjectIdentifier(session)] = nil
        if watchers[username]?.isEmpty == true { watchers[username] = nil }
    }

    // MARK: Delivery

    /// Delivers `rate` mails/s from now on, for `seconds` (0: until stopped).
    /// Paced against the start time, not per tick, so a late tick catches up.
    func startDelivering(rate: Double, seconds: Double) {
        stopDelivering()
        let now = NIODeadline.now()
        let task = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(5)) { [self] _ in deliverDue() }
        delivery = (now, rate, seconds > 0 ? now + .milliseconds(Int64(seconds * 1000)) : nil, 0, task)
        FileHandle.standardError.write(Data("imap-load: delivering \(rate) mails/s\(seconds > 0 ? " for \(seconds) s" : "") over \(rotation.count) logged-in mailboxes\n".utf8))
    }

    func stopDelivering() {
        guard let current = delivery else { return }
        current.task.cancel()
        delivery = nil
        recorder.flush()
        FileHandle.standardError.write(Data("imap-load: delivery stopped after \(current.done) mails\n".utf8))
    }

    private func deliverDue() {
        guard var current = delivery else { return }
        let now = NIODeadline.now()
        let end = current.until.map { min($0, now) } ?? now
        let elapsed = Double((end - current.started).nanoseconds) / 1e9
        let due = Int(elapsed * current.rate)
        while current.done < due, !rotation.isEmpty {
            cursor = cursor % rotation.count
            deliver(to: rotation[cursor])
            cursor += 1
            current.done += 1
        }
        delivery = current
        if let until = current.until, now >= until { stopDelivering() }
    }

    /// One new message: UIDNEXT and EXISTS move, sessions in IDLE on the
    /// mailbox hear it at once, the others at their next command.
    func deliver(to username: String) {
        var mailbox = mailbox(of: username)
        mailbox.uidNext += 1
        mailbox.exists += 1
        mailboxes[username] = mailbox
        delivered += 1
        let sessions = watchers[username].map { Array($0.values) } ?? []
        if sessions.isEmpty { deliveredToNobody += 1 }
        // The time is taken before the sessions are written to: the latency
        // measured includes the announcement.
        recorder.record(username: username, mailbox: mailbox, at: Self.unixNanos())
        for session in sessions { session.mailArrived(mailbox) }
    }

    static func unixNanos() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    // MARK: Status

    struct Snapshot {
        let json: String
        let line: String
    }

    func snapshot() -> Snapshot {
        let logged = loggedIn.values.reduce(0, +)
        let fields: [(String, String)] = [
            ("port", "\(port)"), ("connections", "\(connections)"), ("loggedIn", "\(logged)"), ("idling", "\(idling)"),
            ("mailboxes", "\(rotation.count)"), ("delivered", "\(delivered)"), ("deliveredToNobody", "\(deliveredToNobody)"),
            ("failedLogins", "\(failedLogins)"), ("delivering", delivery == nil ? "false" : "true"),
            ("atUnixNanos", "\(Self.unixNanos())"),
        ]
        return Snapshot(
            json: "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}",
            line: "\(connections) connections, \(logged) logged in, \(idling) idling, \(delivered) delivered")
    }
}

/// The deliveries file, buffered: written out on every status tick and when
/// a delivery run ends, so the writes never sit between two deliveries.
final class DeliveryRecorder: @unchecked Sendable {
    private let file: UnsafeMutablePointer<FILE>?
    private var buffer = ""

    init(path: String?) throws {
        guard let path else {
            file = nil
            return
        }
        guard let file = fopen(path, "w") else { throw IMAPLoadError("cannot open \(path) for writing") }
        self.file = file
    }

    func record(username: String, mailbox: IMAPLoadServer.Mailbox, at nanos: UInt64) {
        guard file != nil else { return }
        buffer += "\(username) \(mailbox.uidValidity) \(mailbox.uidNext) \(nanos)\n"
    }

    func flush() {
        guard let file, !buffer.isEmpty else { return }
        fputs(buffer, file)
        fflush(file)
        buffer = ""
    }
}

struct IMAPLoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
