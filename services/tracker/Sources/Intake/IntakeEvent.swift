/// One stamped event, ready for Redis, with the key its user is rate limited
/// by (`writeKey:userId`, else `writeKey:anonymousId`; nil when it has neither).
struct IntakeEvent: Sendable {
    var bytes: [UInt8]
    var userKey: String?
}
