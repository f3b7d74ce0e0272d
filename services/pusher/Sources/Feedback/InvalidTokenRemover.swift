import BeaconCore
import BeaconMongo
import Logging
import Synchronization

/// Removes devices whose tokens APNs or FCM declared invalid, in batches:
/// one delete per app every half second rather than one per push, on a
/// loop thread of its own (libmongoc blocks).
final class InvalidTokenRemover: BlockingLoop {
    let name = "token-remover"
    private let devices: DeviceStore
    private let pending = Mutex<[String: Set<String>]>([:])
    private let logger: Logger
    private let removed: @Sendable (String, Int) -> Void

    init(devices: DeviceStore, logger: Logger, removed: @escaping @Sendable (_ app: String, _ count: Int) -> Void) {
        self.devices = devices
        self.logger = logger
        self.removed = removed
    }

    func add(app: String, token: String) {
        pending.withLock { _ = $0[app, default: []].insert(token) }
    }

    func run(_ control: LoopControl) -> LoopOutcome {
        while control.pause(.milliseconds(500)) { flush() }
        flush()
        let left = pending.withLock { $0.values.reduce(0) { $0 + $1.count } }
        return left == 0 ? .finished : .leftUndone("\(left) invalid token(s) not removed (MongoDB unavailable)")
    }

    private func flush() {
        let batch = pending.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
        for (app, tokens) in batch where !tokens.isEmpty {
            do {
                let count = try devices.remove(app: app, tokens: tokens.sorted())
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
