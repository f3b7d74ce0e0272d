import Foundation

/// One configuration key a service reads: its dotted key, what its value
/// must be, its default and what it means. Each service's `Settings` type
/// declares its keys as `Setting`s; they are read only through them, and
/// `--help` and the README's configuration table are made from them.
///
/// A key may name a pattern with `<app>` (e.g. `apns.<app>.keyFile`), read
/// for each app with `forApp(_:)`.
public struct Setting<Value: SettingValue>: SettingDescription {
    public let key: String
    /// nil: the key has no default (it is optional, or required).
    public let defaultValue: Value?
    public let help: String
    /// Whether the service refuses to start without it.
    public let isRequired: Bool
    /// Shown as "***" in `--help`, the README and errors (tokens, passwords).
    public let isSecret: Bool
    private let check: (@Sendable (Value) -> String?)?

    /// - Parameter check: returns what is wrong with a parsed value (e.g.
    ///   "must be between 1 and 65535"), or nil when it is acceptable.
    public init(
        _ key: String, default defaultValue: Value?, _ help: String, required: Bool = false, secret: Bool = false,
        check: (@Sendable (Value) -> String?)? = nil
    ) {
        self.key = key
        self.defaultValue = defaultValue
        self.help = help
        self.isRequired = required
        self.isSecret = secret
        self.check = check
    }

    /// The same setting for one app: `<app>` in the key becomes `app`.
    public func forApp(_ app: String) -> Setting<Value> {
        Setting(key.replacingOccurrences(of: "<app>", with: app), default: defaultValue, help, required: isRequired,
                secret: isSecret, check: check)
    }

    func problem(with value: Value) -> String? { check?(value) }

    // MARK: SettingDescription

    public var expectation: String { Value.expectation }
    public var defaultText: String? { defaultValue.map { isSecret ? "***" : $0.settingText } }
}

/// What `--help` and the README say about a setting, whatever its type.
public protocol SettingDescription: Sendable {
    var key: String { get }
    var help: String { get }
    var expectation: String { get }
    var defaultText: String? { get }
    var isRequired: Bool { get }
}

extension SettingDescription {
    /// The environment variable that overrides the key: `redis.claimIdleMs`
    /// → `BEACON_REDIS_CLAIM_IDLE_MS`, `apns.<app>.keyFile` → `BEACON_APNS_<APP>_KEY_FILE`.
    public var environmentVariable: String { Self.environmentVariable(for: key) }

    public static func environmentVariable(for key: String) -> String {
        var name = "BEACON"
        for component in key.split(separator: ".") {
            name += "_"
            var previous: Character?
            for character in component {
                if character.isUppercase, let previous, previous.isLowercase || previous.isNumber { name += "_" }
                name += character.uppercased()
                previous = character
            }
        }
        return name
    }
}

/// Checks shared by many settings.
public enum SettingCheck {
    public static func range(_ range: ClosedRange<Int>) -> @Sendable (Int) -> String? {
        { range.contains($0) ? nil : "must be from \(range.lowerBound) to \(range.upperBound)" }
    }

    public static let positive: @Sendable (Int) -> String? = { $0 > 0 ? nil : "must be greater than 0" }
    public static let notNegative: @Sendable (Int) -> String? = { $0 >= 0 ? nil : "must not be negative" }
    public static let notEmpty: @Sendable (String) -> String? = { $0.isEmpty ? "must not be empty" : nil }
    public static let nonEmptyList: @Sendable ([String]) -> String? = { $0.isEmpty ? "must list at least one value" : nil }
}
