import BeaconCore
import BeaconKafka

/// A message from a tailed topic, parsed once and shared by every browser.
struct TailedMessage: Sendable {
    let message: KafkaMessage
    /// nil when the value is not JSON (it is then sent as text).
    let value: JSONValue?

    init(_ message: KafkaMessage) {
        self.message = message
        value = try? JSONParser.parse(message.value)
    }

    /// The frame sent to the browser.
    func frame() -> String {
        var object: JSONObject = [
            "type": "event",
            "topic": .string(message.topic),
            "partition": .integer(Int64(message.partition)),
            "offset": .integer(message.offset),
        ]
        object["timestamp"] = message.timestampMs.map { .integer($0) } ?? .null
        object["key"] = message.key.map { .string(String(decoding: $0, as: UTF8.self)) } ?? .null
        object["value"] = value ?? .string(String(decoding: message.value, as: UTF8.self))
        return JSONWriter.string(.object(object))
    }
}
