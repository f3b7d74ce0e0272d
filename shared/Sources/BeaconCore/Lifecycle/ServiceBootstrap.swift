import Logging

/// What every service sets up first, in this order: configuration, the log
/// handler (before anything logs), the metrics registry, readiness.
public struct ServiceBootstrap: Sendable {
    public let config: ServiceConfig
    public let logger: Logger
    public let readiness = Readiness()

    public init(service: String, options: ServiceOptions) async throws {
        config = try await ServiceConfig(options: options)
        logger = LoggingSetup.bootstrap(service: service, level: config.logLevel, format: config.logFormat)
        MetricsSetup.bootstrap()
    }
}
