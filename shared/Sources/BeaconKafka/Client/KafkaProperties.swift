import BeaconCore

/// Extra librdkafka properties from a settings list of `name=value` entries.
public enum KafkaProperties {
    public static func parse(_ entries: [String], key: String) throws(SettingsError) -> [String: String] {
        var properties: [String: String] = [:]
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw .invalid(key: key, value: entry, reason: "is not name=value") }
            properties[parts[0]] = parts[1]
        }
        return properties
    }
}
