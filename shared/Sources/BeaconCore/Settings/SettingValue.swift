/// A type a setting can hold. Environment variables and YAML scalars both
/// arrive as text, and every value is parsed from it strictly: text that is
/// not a valid value is an error, never the default.
public protocol SettingValue: Sendable {
    /// What a valid value looks like, for errors and `--help`: "a whole number".
    static var expectation: String { get }
    /// nil when `text` is not a valid value.
    init?(settingText text: String)
    /// The value as `--help` and the README show it.
    var settingText: String { get }
    /// Lists come from a YAML sequence or comma-separated text.
    static var isList: Bool { get }
    init?(settingList: [String])
}

extension SettingValue {
    public static var isList: Bool { false }
    public init?(settingList: [String]) { nil }
}

extension String: SettingValue {
    public static var expectation: String { "text" }
    public init?(settingText text: String) { self = text }
    public var settingText: String { self }
}

extension Int: SettingValue {
    public static var expectation: String { "a whole number" }
    public init?(settingText text: String) {
        guard let value = Int(text.trimmingWhitespace) else { return nil }
        self = value
    }
    public var settingText: String { String(self) }
}

extension Double: SettingValue {
    public static var expectation: String { "a number" }
    public init?(settingText text: String) {
        guard let value = Double(text.trimmingWhitespace), value.isFinite else { return nil }
        self = value
    }
    public var settingText: String { String(self) }
}

extension Bool: SettingValue {
    public static var expectation: String { "true or false" }
    public init?(settingText text: String) {
        switch text.trimmingWhitespace.lowercased() {
        case "true", "yes", "on", "1": self = true
        case "false", "no", "off", "0": self = false
        default: return nil
        }
    }
    public var settingText: String { self ? "true" : "false" }
}

extension Array: SettingValue where Element == String {
    public static var expectation: String { "a list (a YAML sequence, or comma-separated text)" }
    public init?(settingText text: String) {
        self = text.split(separator: ",").map { String($0).trimmingWhitespace }.filter { !$0.isEmpty }
    }
    public var settingText: String { isEmpty ? "[]" : joined(separator: ", ") }
    public static var isList: Bool { true }
    public init?(settingList: [String]) { self = settingList.filter { !$0.isEmpty } }
}

/// A setting whose value is one of a fixed set of words (a log format, a
/// policy): any `RawRepresentable` enum with `String` raw values.
public protocol SettingChoice: SettingValue, RawRepresentable, CaseIterable where RawValue == String {}

extension SettingChoice {
    public static var expectation: String { "one of " + allCases.map(\.rawValue).joined(separator: ", ") }
    public init?(settingText text: String) { self.init(rawValue: text.trimmingWhitespace.lowercased()) }
    public var settingText: String { rawValue }
}

extension String {
    var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
