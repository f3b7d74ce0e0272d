import Logging
import ServiceLifecycle

/// Runs a service's parts until SIGTERM or SIGINT, then shuts them down in
/// reverse order so that intake stops before the parts that drain it. The
/// whole shutdown is bounded: parts still running after twice the drain time
/// (plus a margin) are cancelled.
public enum ServiceRunner {
    public static func run(_ services: [any Service], drainTimeout: Duration, logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        configuration.maximumGracefulShutdownDuration = drainTimeout * 2 + .seconds(5)
        try await ServiceGroup(configuration: configuration).run()
    }
}
