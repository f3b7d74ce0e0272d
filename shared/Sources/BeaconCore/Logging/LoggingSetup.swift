import Logging

public enum LoggingSetup {
    /// Installs the process-wide log handler once, before anything logs.
    public static func bootstrap(service: String, level: LogLevel, format: LogFormat) -> Logger {
        LoggingSystem.bootstrap { label in
            switch format {
            case .json:
                return JSONLogHandler(label: label, service: service, level: level.level)
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level.level
                return handler
            }
        }
        return Logger(label: "beacon.\(service)")
    }
}
