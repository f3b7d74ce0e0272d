import BeaconCore

/// The `mongo.*` keys of the services that keep devices in MongoDB.
public struct MongoSettings: Sendable {
    public static let url = Setting<String>(
        "mongo.url", default: "mongodb://127.0.0.1:27017", "MongoDB connection string (libmongoc options go in its query)")
    public static let database = Setting<String>("mongo.database", default: "beacon", "the database", check: SettingCheck.notEmpty)
    public static let devices = Setting<String>("mongo.devices", default: "devices", "the device registry's collection", check: SettingCheck.notEmpty)

    public static let settings: [any SettingDescription] = [url, database, devices]

    public var url: String
    public var database: String
    public var devices: String

    public init(_ reader: SettingsReader) throws(SettingsError) {
        url = try reader(Self.url)
        database = try reader(Self.database)
        devices = try reader(Self.devices)
    }
}
