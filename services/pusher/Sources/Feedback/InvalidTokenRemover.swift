import Atomics
import BeaconCore
import BeaconMongo
import Foundation
import Logging
import Synchronization

/// Removes devices whose tokens APNs or FCM declared invalid, in batches:
/// one `deleteMany` per app every half second rather than one per push.
final class InvalidTokenRemover: @unchecked Sendable {
    private let devices: MongoCollection?
    private let pending = Mutex<[String: Set<String>]>([:])
    private let stopping = ManagedAtomic(false)
    private let stopped = DispatchSemaphore(value: 0)
    private let logger: Logger
    private let removed: @Sendable (String, Int) -> Void

    init(devices: MongoCollection?, logger: Logger, removed: @escaping @Sendable (_ app: String, _ count: Int) -> Void) {
        self.devices = devices
        self.logger = logger
        self.removed = removed
        let thread = Thread { [self] in
            while !stopping.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: 0.5)
                flush()
            }
            flush()
            stopped.signal()
        }
        thread.name = "beacon-token-remover"
        thread.start()
    }

    func add(app: String, token: String) {
        pending.withLock { _ = $0[app, default: []].insert(token) }
    }

    func close() {
        stopping.store(true, ordering: .relaxed)
        stopped.wait()
    }

    private func flush() {
        let batch = pending.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
        guard let devices else { return }
        for (app, tokens) in batch where !tokens.isEmpty {
            let query: JSONValue = ["app": .string(app), "token": ["$in": .array(tokens.sorted().map(JSONValue.string))]]
            do {
                let count = try devices.deleteMany(filter: JSONWriter.string(query))
                removed(app, count)
                logger.info("removed invalid push tokens", metadata: ["app": "\(app)", "tokens": "\(tokens.count)", "devices": "\(count)"])
            } catch {
                // Keep them for the next round: MongoDB may be back by then.
                pending.withLock { $0[app, default: []].formUnion(tokens) }
                logger.warning("could not remove invalid tokens; will retry", metadata: ["error": "\(error)"])
            }
        }
    }
}
