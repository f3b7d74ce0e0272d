/// One app's limits from `rateLimits.<app>.*`: events a second and burst for
/// the app as a whole, and for each of its users. A rate of 0 is no limit.
struct RateLimit: Sendable, Equatable {
    var eventsPerSecond: Double = 0
    var burst: Int = 0
    var userEventsPerSecond: Double = 0
    var userBurst: Int = 0

    var limitsApp: Bool { eventsPerSecond > 0 }
    var limitsUsers: Bool { userEventsPerSecond > 0 }

    /// The burst to use: the configured one, else one second's worth.
    var appBurst: Double { burst > 0 ? Double(burst) : max(1, eventsPerSecond) }
    var perUserBurst: Double { userBurst > 0 ? Double(userBurst) : max(1, userEventsPerSecond) }
}
