import ArgumentParser
import Logging

/// `--log-level` / `log.level`: only these words are accepted (an unknown
/// one is refused at start-up, not silently read as `info`).
public enum LogLevel: String, Sendable, ExpressibleByArgument, CaseIterable, SettingChoice {
    case trace, debug, info, notice, warning, error, critical

    public var level: Logger.Level {
        switch self {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }
}
