import BeaconCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Holds this instance's mailbox sessions: the registrations of the Kafka
/// partitions it owns, started as they arrive or as a partition is loaded,
/// ended when the device stops them, they expire or the partition moves to
/// another instance. At most `maxSessions` run; the rest wait in order.
///
/// As a `Service` it ends every session on shutdown (each logs out), after
/// the consumer loops stopped handing it work.
final class SessionSupervisor: Service, Sendable {
    private struct State {
        var sessions: [String: MailboxSession] = [:]
        var waiting: [StoredRegistration] = []
        var owned: Set<Int32> = []
        /// Registrations stopped lately, so that a partition load that read
        /// them just before the stop does not start them again.
        var stopped: [String: Date] = [:]
        /// Registrations asked to start while their previous session was
        /// still logging out (a partition revoked and given back in one
        /// rebalance): started once that session has ended, so that one
        /// mailbox never has two sessions and none is left unwatched.
        var restarts: [String: StoredRegistration] = [:]
        var shuttingDown = false
    }

    private let state = Mutex(State())
    private let context: MailboxSession.Context
    private let maxSessions: Int
    private let drainTimeout: Duration
    private let logger: Logger

    init(context: MailboxSession.Context, maxSessions: Int, drainTimeout: Duration) {
        self.context = context
        self.maxSessions = maxSessions
        self.drainTimeout = drainTimeout
        logger = context.logger
    }

    var sessionCount: Int { state.withLock { $0.sessions.count } }
    var waitingCount: Int { state.withLock { $0.waiting.count } }
    func session(_ id: String) -> MailboxSession? { state.withLock { $0.sessions[id] } }

    // MARK: Partitions

    func assigned(_ partitions: [Int32]) {
        state.withLock { $0.owned.formUnion(partitions) }
    }

    func owns(_ partition: Int32) -> Bool { state.withLock { $0.owned.contains(partition) } }

    /// Ends the sessions of partitions this instance no longer owns; the
    /// instance that now owns them loads them from MongoDB.
    func revoked(_ partitions: [Int32]) {
        let revoked = Set(partitions)
        let ending: [MailboxSession] = state.withLock { state in
            state.owned.subtract(revoked)
            state.waiting.removeAll { revoked.contains($0.partition) }
            state.restarts = state.restarts.filter { !revoked.contains($0.value.partition) }
            return state.sessions.values.filter { revoked.contains($0.partition) }
        }
        for session in ending { session.cancel() }
        if !ending.isEmpty { logger.info("partitions revoked; sessions ending", metadata: ["sessions": "\(ending.count)"]) }
    }

    // MARK: Registrations

    /// Starts watching a registration of an owned partition. A registration
    /// already watched is left as it is; `loaded` ones (read from MongoDB for
    /// a new partition) are skipped when they were stopped meanwhile.
    func start(_ stored: StoredRegistration, loaded: Bool) {
        guard stored.expiresAt > Date() else { return }
        let session: MailboxSession? = state.withLock { state in
            guard !state.shuttingDown, state.owned.contains(stored.partition) else { return nil }
            if loaded, state.stopped[stored.id] != nil { return nil }
            if let running = state.sessions[stored.id] {
                if running.isEnding { state.restarts[stored.id] = stored }
                return nil
            }
            if !loaded { state.stopped[stored.id] = nil }
            guard state.sessions.count < maxSessions else {
                if !state.waiting.contains(where: { $0.id == stored.id }) {
                    state.waiting.append(stored)
                    context.metrics.session(from: nil, to: .waiting)
                }
                return nil
            }
            let session = makeSession(stored)
            state.sessions[stored.id] = session
            return session
        }
        session?.start()
    }

    /// Ends a registration's session (stop, or an invalid token).
    func stop(_ id: String) {
        let session: MailboxSession? = state.withLock { state in
            state.stopped[id] = Date()
            state.restarts[id] = nil
            if let index = state.waiting.firstIndex(where: { $0.id == id }) {
                state.waiting.remove(at: index)
                context.metrics.session(from: .waiting, to: nil)
            }
            return state.sessions[id]
        }
        session?.cancel()
    }

    func pause(_ id: String, until: Date?) {
        let session: MailboxSession? = state.withLock { state in
            if let index = state.waiting.firstIndex(where: { $0.id == id }) { state.waiting[index].pausedUntil = until }
            return state.sessions[id]
        }
        session?.pause(until: until)
    }

    private func makeSession(_ stored: StoredRegistration) -> MailboxSession {
        MailboxSession(stored, context: context) { [weak self] session, end in self?.ended(session, end) }
    }

    /// A session ended: forget it, forget the registration when it is over
    /// for good, start it again if its partition came back meanwhile, and
    /// start the next one waiting.
    private func ended(_ session: MailboxSession, _ end: MailboxSession.End) {
        let again: StoredRegistration? = state.withLock { state in
            if state.sessions[session.id] === session { state.sessions[session.id] = nil }
            guard end == .stopped, var again = state.restarts.removeValue(forKey: session.id) else { return nil }
            // The ended session pushed up to its own watermark, which may be
            // newer than what the partition load read.
            if let watermark = session.watermark { again.watermark = watermark }
            return again
        }
        if let again { start(again, loaded: true) }
        let next: MailboxSession? = state.withLock { state in
            let cutoff = Date().addingTimeInterval(-3600)
            state.stopped = state.stopped.filter { $0.value > cutoff }
            guard !state.shuttingDown, state.sessions.count < maxSessions, !state.waiting.isEmpty else { return nil }
            let stored = state.waiting.removeFirst()
            context.metrics.session(from: .waiting, to: nil)
            let next = makeSession(stored)
            state.sessions[stored.id] = next
            return next
        }
        next?.start()
        if end != .stopped {
            // Expired, or unusable until the device registers again.
            let store = context.store, id = session.id, logger = self.logger
            Task {
                do {
                    _ = try await BlockingWork.run { try store.remove(id) }
                } catch {
                    logger.warning("could not remove an ended registration", metadata: ["registrationId": "\(id)", "error": "\(error)"])
                }
            }
        }
    }

    // MARK: Service

    func run() async throws {
        try? await gracefulShutdown()
        await endAll()
    }

    /// Ends every session and waits for them to log out, up to the drain time.
    func endAll() async {
        let sessions: [MailboxSession] = state.withLock { state in
            state.shuttingDown = true
            for _ in state.waiting { context.metrics.session(from: .waiting, to: nil) }
            state.waiting.removeAll()
            state.restarts.removeAll()
            return Array(state.sessions.values)
        }
        guard !sessions.isEmpty else { return }
        logger.info("ending mailbox sessions", metadata: ["sessions": "\(sessions.count)"])
        for session in sessions { session.cancel() }
        let drain = drainTimeout
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for session in sessions { await session.finished() }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: drain)
                return false
            }
            if let allEnded = await group.next(), !allEnded {
                self.logger.warning("some mailbox sessions did not log out in time", metadata: ["left": "\(self.sessionCount)"])
            }
            group.cancelAll()
        }
    }
}
