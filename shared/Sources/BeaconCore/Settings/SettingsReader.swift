import Configuration
import Hummingbird
import Foundation
import SystemPackage
import Yams

/// Reads a service's settings: a YAML file, overridden key by key by
/// `BEACON_<SECTION>_<KEY>` environment variables. Values are parsed
/// strictly (`BEACON_HTTP_PORT=abc` is an error, not the default), and only
/// through declared `Setting`s.
public struct SettingsReader: Sendable {
    public let reader: ConfigReader
    /// The YAML file read, if any.
    public let file: String?
    /// The names of the environment's variables, for `names(for:)`.
    private let environmentNames: [String]

    public init(reader: ConfigReader, file: String? = nil, environmentNames: [String] = []) {
        self.reader = reader
        self.file = file
        self.environmentNames = environmentNames
    }

    /// The file at `path` (if any) under the environment's overrides.
    public init(file path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) async throws(SettingsError) {
        var providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "beacon")
        ]
        if let path {
            guard FileManager.default.fileExists(atPath: path) else { throw .file(path: path, reason: "does not exist") }
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)))
            } catch {
                throw .file(path: path, reason: "cannot be read: \(error)")
            }
        }
        self.init(reader: ConfigReader(providers: providers), file: path, environmentNames: Array(environment.keys))
    }

    /// The names configured in the `<app>` place of `setting`'s key, from the
    /// file's keys and the environment's variables (there lowercased, as
    /// `BEACON_WEBHOOKS_SIGNING_SECRETS_SHOP` names `shop`): for per-name
    /// settings that no list of apps announces.
    public func names<Value>(for setting: Setting<Value>) -> [String] {
        let parts = setting.key.split(separator: ".").map(String.init)
        guard let place = parts.firstIndex(of: "<app>") else { return [] }
        var names: Set<String> = []
        if let file, let text = try? String(contentsOfFile: file, encoding: .utf8), let root = try? Yams.compose(yaml: text) {
            var node: Node? = root
            for part in parts[..<place] { node = node?.mapping?[part] }
            if let mapping = node?.mapping {
                for key in mapping.keys {
                    if let name = key.string { names.insert(name) }
                }
            }
        }
        let before = Setting<Value>.environmentVariable(for: parts[..<place].joined(separator: ".")) + "_"
        let after = place + 1 < parts.count ? "_" + String(Setting<Value>.environmentVariable(for: parts[(place + 1)...].joined(separator: ".")).dropFirst("BEACON_".count)) : ""
        for variable in environmentNames where variable.hasPrefix(before) && variable.hasSuffix(after) && variable.count > before.count + after.count {
            names.insert(String(variable.dropFirst(before.count).dropLast(after.count)).lowercased())
        }
        return names.sorted()
    }

    /// For tests: values from a dictionary of dotted keys, as text.
    public init(values: [String: String]) {
        var content: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in values {
            content[AbsoluteConfigKey(ConfigKey(key))] = ConfigValue(.string(value), isSecret: false)
        }
        self.init(reader: ConfigReader(provider: InMemoryProvider(values: content)))
    }

    /// Keys of the YAML file that no setting in `known` reads: a typo, or a
    /// key that moved, which would otherwise be ignored without a word.
    public func unknownFileKeys(known: [any SettingDescription]) -> [String] {
        guard let file, let text = try? String(contentsOfFile: file, encoding: .utf8), let root = try? Yams.compose(yaml: text) else {
            return []
        }
        let patterns = known.map { setting in
            setting.key.split(separator: ".", omittingEmptySubsequences: false).map { $0 == "<app>" ? nil : String($0) }
        }
        func isKnown(_ key: [String]) -> Bool {
            patterns.contains { pattern in
                pattern.count == key.count && zip(pattern, key).allSatisfy { $0 == nil || $0 == $1 }
            }
        }
        func isSection(_ key: [String]) -> Bool {
            patterns.contains { pattern in
                pattern.count > key.count && zip(pattern, key).allSatisfy { $0 == nil || $0 == $1 }
            }
        }
        var unknown: [String] = []
        func walk(_ node: Node, _ path: [String]) {
            if case .mapping(let mapping) = node, !isKnown(path) {
                for (key, value) in mapping {
                    walk(value, path + [key.string ?? "\(key)"])
                }
            } else if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null", isSection(path) {
                return  // an empty section, e.g. one whose keys are all commented out
            } else if !path.isEmpty, !isKnown(path) {
                unknown.append(path.joined(separator: "."))
            }
        }
        walk(root, [])
        return unknown
    }

    /// The value, or the default; throws when the value is malformed, or
    /// when there is neither (a required key).
    public func callAsFunction<Value>(_ setting: Setting<Value>) throws(SettingsError) -> Value {
        if let value = try optional(setting) { return value }
        if let defaultValue = setting.defaultValue { return defaultValue }
        throw .missing(key: setting.key, reason: setting.help)
    }

    /// The value when one is configured (empty text counts as none), else
    /// nil: the default is the caller's to choose.
    public func optional<Value>(_ setting: Setting<Value>) throws(SettingsError) -> Value? {
        let key = ConfigKey(setting.key)
        let value: Value
        if Value.isList, let list = reader.stringArray(forKey: key) {
            guard let parsed = Value(settingList: list) else {
                throw .wrongType(key: setting.key, value: list.joined(separator: ","), expected: Value.expectation)
            }
            value = parsed
        } else if let text = reader.string(forKey: key) {
            guard !text.isEmpty else { return nil }
            guard let parsed = Value(settingText: text) else {
                throw .wrongType(key: setting.key, value: setting.isSecret ? "***" : text, expected: Value.expectation)
            }
            value = parsed
        } else if let list = reader.stringArray(forKey: key) {
            throw .wrongType(key: setting.key, value: "[" + list.joined(separator: ", ") + "]", expected: "a single value (\(Value.expectation))")
        } else {
            return nil
        }
        if let problem = setting.problem(with: value) {
            throw .invalid(key: setting.key, value: setting.isSecret ? "***" : value.settingText, reason: problem)
        }
        return value
    }
}
