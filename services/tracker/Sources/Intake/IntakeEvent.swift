/// One stamped event, ready for Redis, with the user it is rate limited as
/// (its userId, else its anonymousId; nil when it has neither).
struct IntakeEvent: Sendable {
    var bytes: [UInt8]
    var user: String?
}
