/// What EXAMINE or STATUS says about a mailbox.
public struct IMAPMailboxStatus: Sendable, Equatable {
    /// Changes when the server renumbered the mailbox: UIDs seen before mean nothing then.
    public var uidValidity: UInt32
    /// The UID the next message will get: it grows when mail arrives.
    public var uidNext: UInt32
    /// Number of messages in the mailbox.
    public var messages: Int

    public init(uidValidity: UInt32, uidNext: UInt32, messages: Int) {
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.messages = messages
    }
}

/// How an IDLE ended.
public enum IMAPIdleWake: Sendable, Equatable {
    /// The server reported a change (EXISTS, RECENT, EXPUNGE or FETCH); the
    /// last EXISTS count when one came.
    case changed(exists: Int?)
    /// The IDLE ran its full time without news.
    case timedOut
    /// Another command (LOGOUT, say) was issued and ended the IDLE early.
    case interrupted
}
