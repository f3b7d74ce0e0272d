import Atomics

/// The number of open connections, shared by every event loop, and the most
/// that may be open at once.
final class ConnectionLimit: Sendable {
    let maximum: Int
    let observer: any ConnectionObserver
    private let open = ManagedAtomic(0)

    init(maximum: Int, observer: any ConnectionObserver) {
        self.maximum = maximum
        self.observer = observer
    }

    var openConnections: Int { open.load(ordering: .relaxed) }

    /// Takes a place for a new connection; false (and counted as refused) when none is left.
    func admit() -> Bool {
        if open.wrappingIncrementThenLoad(ordering: .relaxed) > maximum {
            open.wrappingDecrement(ordering: .relaxed)
            observer.connectionRefused()
            return false
        }
        observer.connectionOpened()
        return true
    }

    /// Gives back the place of an admitted connection that closed.
    func release() {
        open.wrappingDecrement(ordering: .relaxed)
        observer.connectionClosed()
    }
}
