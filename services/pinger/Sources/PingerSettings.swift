import BeaconCore
import Hummingbird

/// Everything the pinger reads from its configuration.
public struct PingerSettings: ServiceSettings {
    static let port = HTTPSettings.port(default: 8086, serves: "health, readiness and metrics")
    static let drain = ShutdownSettings.drainTimeout(default: 10_000, "how long SIGTERM waits for the mailbox sessions to log out")

    public static let settings: [any SettingDescription] = HTTPSettings.settings(port: port) + [drain]

    let http: ApplicationConfiguration
    public let drainTimeout: Duration

    public init(_ reader: SettingsReader) throws(SettingsError) {
        http = try HTTPSettings.read(reader, port: Self.port, serverName: "beacon-pinger")
        drainTimeout = try reader(Self.drain).milliseconds
    }
}
