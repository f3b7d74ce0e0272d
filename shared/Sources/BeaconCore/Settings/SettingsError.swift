/// A configuration value that cannot be used. Start-up fails with it, and
/// its message names the key, its environment variable, the value found and
/// what was expected.
public enum SettingsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The text could not be parsed as the key's type.
    case wrongType(key: String, value: String, expected: String)
    /// It parsed, but is not acceptable (out of range, an unknown name).
    case invalid(key: String, value: String, reason: String)
    /// A required key has no value.
    case missing(key: String, reason: String)
    /// The configuration file cannot be used.
    case file(path: String, reason: String)

    public var description: String {
        switch self {
        case .wrongType(let key, let value, let expected):
            "configuration key \(key) (\(Self.variable(key))): \"\(value)\" is not \(expected)"
        case .invalid(let key, let value, let reason):
            "configuration key \(key) (\(Self.variable(key))): \"\(value)\" \(reason)"
        case .missing(let key, let reason):
            "configuration key \(key) (\(Self.variable(key))) is required: \(reason)"
        case .file(let path, let reason):
            "configuration file \(path): \(reason)"
        }
    }

    private static func variable(_ key: String) -> String {
        Setting<String>.environmentVariable(for: key)
    }
}
