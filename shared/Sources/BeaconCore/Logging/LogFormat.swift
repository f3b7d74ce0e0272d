import ArgumentParser

/// `--log-format` / `log.format`: one JSON object a line, or plain text.
public enum LogFormat: String, Sendable, ExpressibleByArgument, CaseIterable, SettingChoice {
    case json
    case text
}
