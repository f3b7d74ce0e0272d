import ArgumentParser

/// The flags every Beacon service takes. Flags win over environment variables,
/// which win over the YAML file.
public struct ServiceOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: "Path of the service's YAML configuration file.")
    public var config: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    public var logLevel: String?

    @Option(name: .long, help: "json or text.")
    public var logFormat: LogFormat?

    public init() {}
}
