/// How far a mailbox has been pushed: its UIDVALIDITY and the UIDNEXT seen
/// at the last push (or when the session first looked). New mail is a
/// higher UIDNEXT under the same UIDVALIDITY, so one arrival gives one push
/// however often the server says EXISTS, and a restart compares with what
/// was stored instead of pushing again.
struct MailboxWatermark: Sendable, Equatable {
    let uidValidity: UInt32
    let uidNext: UInt32

    enum Change: Equatable {
        /// Nothing was known: remember this, push nothing.
        case baseline
        case unchanged
        /// `count` messages arrived (at most: some may be gone already).
        case newMail(count: Int)
        /// UIDVALIDITY changed: the mailbox was rebuilt and UIDs mean
        /// something else now; start again from here without a push.
        case reset
    }

    /// What `current` means against `stored`.
    static func change(from stored: MailboxWatermark?, to current: MailboxWatermark) -> Change {
        guard let stored else { return .baseline }
        guard stored.uidValidity == current.uidValidity else { return .reset }
        guard current.uidNext > stored.uidNext else { return .unchanged }
        return .newMail(count: Int(current.uidNext - stored.uidNext))
    }
}
