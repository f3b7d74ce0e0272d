import ArgumentParser

public enum LogFormat: String, Sendable, ExpressibleByArgument, CaseIterable {
    case json
    case text
}
