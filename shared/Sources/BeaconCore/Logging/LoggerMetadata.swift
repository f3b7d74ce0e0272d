import Logging

extension Logger {
    /// This logger with one more metadata field on every line (a loop's name, a Redis URL).
    public func with(_ key: String, _ value: String) -> Logger {
        var logger = self
        logger[metadataKey: key] = "\(value)"
        return logger
    }
}
