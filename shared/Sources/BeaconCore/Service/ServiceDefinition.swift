import ArgumentParser
import ServiceLifecycle

/// What makes a Beacon service: its name, its settings, its own flags, and
/// the parts it runs. `ServiceCommand<Definition>` is its executable.
public protocol ServiceDefinition {
    associatedtype Settings: ServiceSettings
    associatedtype Options: ParsableArguments = NoOptions

    /// "tracker": the executable is `beacon-tracker`, the log's `service`.
    static var name: String { get }
    /// One line for `--help`.
    static var abstract: String { get }

    /// The service's parts, in start order. They stop in reverse order, so
    /// list intake last: it stops taking work before the parts that drain it.
    static func parts(_ settings: Settings, options: Options, context: ServiceContext) async throws -> [any Service]
}
