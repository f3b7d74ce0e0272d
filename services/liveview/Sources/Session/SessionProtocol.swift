import BeaconCore

/// The JSON frames between the page and the server.
enum SessionProtocol {
    enum Command: Equatable {
        case subscribe(topic: String, filter: EventFilter)
        case pause
        case resume
    }

    struct InvalidCommand: Error { let message: String }

    static func command(_ text: String) throws(InvalidCommand) -> Command {
        guard case .object(let object)? = try? JSONParser.parse(text, maxDepth: 8) else {
            throw InvalidCommand(message: "commands are JSON objects")
        }
        switch object["type"]?.stringValue {
        case "subscribe":
            guard let topic = object["topic"]?.stringValue else { throw InvalidCommand(message: "subscribe needs a topic") }
            return .subscribe(topic: topic, filter: EventFilter(object["filters"]?.objectValue))
        case "pause": return .pause
        case "resume": return .resume
        default: throw InvalidCommand(message: "unknown command; expected subscribe, pause or resume")
        }
    }

    static func hello(topics: [String], topic: String) -> String {
        JSONWriter.string(["type": "hello", "topics": .array(topics.map(JSONValue.string)), "topic": .string(topic)])
    }

    static func stats(rate: Double, matchedRate: Double, dropped: Int, paused: Bool) -> String {
        JSONWriter.string([
            "type": "stats", "rate": .number((rate * 10).rounded() / 10), "matchedRate": .number((matchedRate * 10).rounded() / 10),
            "dropped": .integer(Int64(dropped)), "paused": .bool(paused),
        ])
    }

    static func dropped(_ count: Int) -> String {
        JSONWriter.string(["type": "dropped", "count": .integer(Int64(count))])
    }

    static func error(_ message: String) -> String {
        JSONWriter.string(["type": "error", "message": .string(message)])
    }
}
