import ArgumentParser

/// The flags every Beacon service takes. Flags win over environment
/// variables, which win over the YAML file. Unknown values are refused.
public struct ServiceOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: "Path of the service's YAML configuration file.")
    public var config: String?

    @Option(name: .long, help: "Least severe level logged: trace, debug, info, notice, warning, error or critical.")
    public var logLevel: LogLevel?

    @Option(name: .long, help: "json or text.")
    public var logFormat: LogFormat?

    @Flag(name: .long, help: .hidden)
    public var settingsTable = false

    public init() {}
}

/// For services without flags of their own.
public struct NoOptions: ParsableArguments, Sendable {
    public init() {}
}
