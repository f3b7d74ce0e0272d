import BeaconCore

/// `redis://[[user]:password@]host[:port][/db]`
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int

    public init(_ text: String) throws(RedisError) {
        guard text.hasPrefix("redis://") else { throw .invalidURL(text) }
        var rest = Substring(text.dropFirst("redis://".count))
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : String(user)
                password = String(credentials[credentials.index(after: colon)...])
            } else {
                password = String(credentials)
            }
        }
        database = 0
        if let slash = rest.firstIndex(of: "/") {
            let db = rest[rest.index(after: slash)...]
            if !db.isEmpty {
                guard let number = Int(db) else { throw .invalidURL(text) }
                database = number
            }
            rest = rest[..<slash]
        }
        if let colon = rest.lastIndex(of: ":") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else { throw .invalidURL(text) }
            port = number
            host = String(rest[..<colon])
        } else {
            port = 6379
            host = String(rest)
        }
        guard !host.isEmpty else { throw .invalidURL(text) }
    }

    /// Without the password, for logs.
    public var description: String { "redis://\(host):\(port)/\(database)" }
}

extension RedisURL {
    /// The URL a setting names; a malformed one is a settings error.
    public init(setting: Setting<String>, in reader: SettingsReader) throws(SettingsError) {
        try self.init(text: reader(setting), key: setting.key)
    }

    /// Every URL of a list setting (`redis.urls`).
    public static func list(setting: Setting<[String]>, in reader: SettingsReader) throws(SettingsError) -> [RedisURL] {
        var urls: [RedisURL] = []
        for text in try reader(setting) { urls.append(try RedisURL(text: text, key: setting.key)) }
        return urls
    }

    private init(text: String, key: String) throws(SettingsError) {
        do {
            try self.init(text)
        } catch {
            throw .invalid(key: key, value: text, reason: "is not a Redis URL (redis://[[user]:password@]host[:port][/db])")
        }
    }
}
