import Foundation

/// The text `--help` and the README show for a service's settings.
public enum SettingsHelp {
    /// For `--help`: one block a key, with its variable, default and meaning.
    public static func text(_ settings: [any SettingDescription]) -> String {
        var lines = ["CONFIGURATION (YAML key, environment variable, default):"]
        for setting in settings {
            lines.append("  \(setting.key)  \(setting.environmentVariable)  \(defaultText(setting))")
            lines.append("      \(setting.help) (\(setting.expectation))")
        }
        return lines.joined(separator: "\n")
    }

    /// For the README: a Markdown table, one row a key.
    public static func markdown(service: String, _ settings: [any SettingDescription]) -> String {
        var lines = ["| key (\(service)) | environment variable | default | meaning |", "|---|---|---|---|"]
        for setting in settings {
            let defaultCell = setting.defaultText.map { "`\(escaped($0))`" } ?? (setting.isRequired ? "required" : "none")
            lines.append("| `\(setting.key)` | `\(setting.environmentVariable)` | \(defaultCell) | \(escaped(setting.help)) |")
        }
        return lines.joined(separator: "\n")
    }

    private static func defaultText(_ setting: any SettingDescription) -> String {
        if let text = setting.defaultText { return text.isEmpty ? "\"\"" : text }
        return setting.isRequired ? "(required)" : "(none)"
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|")
    }
}
