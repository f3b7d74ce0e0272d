import Hummingbird

/// The one settings type of a service: everything it reads from its
/// configuration, parsed and checked before anything starts.
public protocol ServiceSettings: Sendable {
    /// Every key the service reads, in the order `--help` and the README
    /// list them. The common ones (`log.*`) are added by `ServiceCommand`.
    static var settings: [any SettingDescription] { get }

    init(_ reader: SettingsReader) throws(SettingsError)

    /// `shutdown.drainTimeoutMs`: the time each part has to finish on SIGTERM.
    var drainTimeout: Duration { get }
}

/// `http.host` and `http.port`, read into Hummingbird's own configuration.
public enum HTTPSettings {
    public static let host = Setting<String>("http.host", default: "127.0.0.1", "address the HTTP server listens on")

    public static func port(default port: Int, serves: String) -> Setting<Int> {
        Setting("http.port", default: port, "port of the HTTP server (\(serves))", check: SettingCheck.range(1...65535))
    }

    public static func settings(port: Setting<Int>) -> [any SettingDescription] { [host, port] }

    /// The server's configuration, Hummingbird's type.
    public static func read(_ reader: SettingsReader, port: Setting<Int>, serverName: String) throws(SettingsError)
        -> ApplicationConfiguration
    {
        ApplicationConfiguration(address: .hostname(try reader(host), port: try reader(port)), serverName: serverName)
    }
}

/// `shutdown.drainTimeoutMs`: how long SIGTERM lets a service finish what it
/// holds, per loop, before it says what it left undone and exits.
public enum ShutdownSettings {
    public static func drainTimeout(default milliseconds: Int, _ help: String) -> Setting<Int> {
        Setting("shutdown.drainTimeoutMs", default: milliseconds, help, check: SettingCheck.range(0...600_000))
    }
}

/// `log.level` and `log.format`, which `--log-level` and `--log-format` override.
public enum LogSettings {
    public static let level = Setting<LogLevel>("log.level", default: .info, "least severe level logged (--log-level wins)")
    public static let format = Setting<LogFormat>("log.format", default: .text, "log line format (--log-format wins)")
    public static let all: [any SettingDescription] = [level, format]
}

extension Int {
    /// Milliseconds as a `Duration` (settings keep times as `…Ms` integers).
    public var milliseconds: Duration { .milliseconds(self) }
}
