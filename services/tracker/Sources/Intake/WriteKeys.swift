import BeaconCore

/// Write keys and the apps they belong to, from `tracker.writeKeys`
/// entries written `key:app`.
struct WriteKeys: Sendable {
    private let apps: [String: String]

    init(entries: [String], key setting: String = "tracker.writeKeys") throws(SettingsError) {
        var apps: [String: String] = [:]
        for entry in entries {
            guard let colon = entry.firstIndex(of: ":"), colon != entry.startIndex, entry.index(after: colon) != entry.endIndex else {
                throw .invalid(key: setting, value: entry, reason: "is not written key:app")
            }
            apps[String(entry[..<colon])] = String(entry[entry.index(after: colon)...])
        }
        guard !apps.isEmpty else { throw .missing(key: setting, reason: "no write keys configured") }
        self.apps = apps
    }

    func app(for key: String) -> String? { apps[key] }

    var appNames: [String] { Array(Set(apps.values)).sorted() }
}
