import Logging
import ServiceLifecycle

/// Runs a service's parts until SIGTERM or SIGINT, then shuts them down in
/// reverse order so that intake stops before the parts that drain it.
public enum ServiceRunner {
    public static func run(_ services: [any Service], logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
