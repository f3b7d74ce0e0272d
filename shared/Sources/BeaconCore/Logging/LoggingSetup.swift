import Logging

public enum LoggingSetup {
    /// Installs the process-wide log handler once, before anything logs.
    public static func bootstrap(service: String, level: String, format: LogFormat) -> Logger {
        let level = Logger.Level(rawValue: level.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            switch format {
            case .json:
                return JSONLogHandler(label: label, service: service, level: level)
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        return Logger(label: "beacon.\(service)")
    }
}
