import Configuration
import Foundation
import SystemPackage

/// Configuration of one service: a YAML file, overridden key by key by
/// `BEACON_<SECTION>_<KEY>` environment variables (`http.port` ->
/// `BEACON_HTTP_PORT`, `redis.claimIdleMs` -> `BEACON_REDIS_CLAIM_IDLE_MS`),
/// overridden in turn by the command-line flags.
public struct ServiceConfig: Sendable {
    public let reader: ConfigReader
    public let logLevel: String
    public let logFormat: LogFormat

    public init(options: ServiceOptions, environment: [String: String] = ProcessInfo.processInfo.environment) async throws {
        var providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "beacon")
        ]
        if let path = options.config {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ConfigError.missingFile(path)
            }
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)))
            } catch {
                throw ConfigError.unreadableFile(path, "\(error)")
            }
        }
        self.init(reader: ConfigReader(providers: providers), options: options)
    }

    /// For tests: values from a dictionary of dotted keys.
    public init(values: [String: String], options: ServiceOptions = ServiceOptions()) {
        var content: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in values {
            content[AbsoluteConfigKey(ConfigKey(key))] = ConfigValue(.string(value), isSecret: false)
        }
        self.init(reader: ConfigReader(provider: InMemoryProvider(values: content)), options: options)
    }

    private init(reader: ConfigReader, options: ServiceOptions) {
        self.reader = reader
        self.logLevel = options.logLevel ?? reader.string(forKey: "log.level", default: "info")
        self.logFormat = options.logFormat ?? LogFormat(rawValue: reader.string(forKey: "log.format", default: "text")) ?? .text
    }

    public func string(_ key: String, default value: String) -> String {
        reader.string(forKey: ConfigKey(key), default: value)
    }

    public func optionalString(_ key: String) -> String? {
        reader.string(forKey: ConfigKey(key)).flatMap { $0.isEmpty ? nil : $0 }
    }

    public func int(_ key: String, default value: Int) -> Int {
        // Numbers from the environment arrive as text; accept both.
        if let number = reader.int(forKey: ConfigKey(key)) { return number }
        if let text = reader.string(forKey: ConfigKey(key)), let number = Int(text) { return number }
        return value
    }

    public func double(_ key: String, default value: Double) -> Double {
        if let number = reader.double(forKey: ConfigKey(key)) { return number }
        if let text = reader.string(forKey: ConfigKey(key)), let number = Double(text) { return number }
        return value
    }

    public func bool(_ key: String, default value: Bool) -> Bool {
        if let flag = reader.bool(forKey: ConfigKey(key)) { return flag }
        if let text = reader.string(forKey: ConfigKey(key)) { return ["1", "true", "yes", "on"].contains(text.lowercased()) }
        return value
    }

    /// A list: a YAML sequence, or comma-separated text (environment).
    public func strings(_ key: String, default value: [String]) -> [String] {
        if let list = reader.stringArray(forKey: ConfigKey(key)) { return list.filter { !$0.isEmpty } }
        if let text = reader.string(forKey: ConfigKey(key)) {
            return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return value
    }
}

public enum ConfigError: Error, CustomStringConvertible {
    case missingFile(String)
    case unreadableFile(String, String)
    case invalid(key: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path): "configuration file \(path) does not exist"
        case .unreadableFile(let path, let reason): "configuration file \(path) could not be read: \(reason)"
        case .invalid(let key, let reason): "configuration key \(key): \(reason)"
        }
    }
}
