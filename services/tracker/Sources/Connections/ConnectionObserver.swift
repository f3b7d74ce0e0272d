/// What the connection handlers report, so that they need no particular
/// metrics type (the tracker's metrics conform; tests record).
protocol ConnectionObserver: Sendable {
    /// A connection was admitted (under the limit).
    func connectionOpened()
    /// An admitted connection closed, for whatever reason.
    func connectionClosed()
    /// A connection over the limit was closed at once.
    func connectionRefused()
    /// A connection is being closed because a client took too long.
    func connectionTimedOut(_ kind: ConnectionTimeouts.Kind)
}
