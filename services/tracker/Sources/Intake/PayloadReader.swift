import BeaconCore

/// Turns a parsed payload, one event or a `batch`, into stamped events,
/// whatever carried it (an HTTP body or a datagram). A batch keeps its good
/// events and reports each bad one by index, so one bad event never costs
/// the others.
struct PayloadReader: Sendable {
    struct Result {
        var events: [IntakeEvent] = []
        /// `{"index": n, "error": "…"}` for each event of a batch that was not taken.
        var rejected: [JSONValue] = []
    }

    let limits: IntakeLimits
    let stamper = EventStamper()

    /// `type` set: the payload is one event of that type (`size` is its
    /// length in bytes); nil: it is a batch.
    func read(_ payload: JSONObject, type: EventType?, size: Int, facts: EventStamper.RequestFacts) throws(IntakeError) -> Result {
        var result = Result()
        if let type {
            guard size <= limits.maxEventBytes else {
                throw IntakeError.tooLarge("event is \(size) bytes; the limit is \(limits.maxEventBytes)")
            }
            var event = payload
            event["writeKey"] = nil
            stamper.stamp(&event, type: type, facts: facts)
            result.events.append(IntakeEvent(bytes: JSONWriter.bytes(.object(event)), user: Self.user(of: event)))
            return result
        }
        guard case .array(let batch)? = payload["batch"] else {
            throw IntakeError.invalidBody("a batch needs a \"batch\" array of events")
        }
        guard batch.count <= limits.maxBatchEvents else {
            throw IntakeError.tooLarge("batch has \(batch.count) events; the limit is \(limits.maxBatchEvents)")
        }
        var facts = facts
        facts.sharedContext = payload["context"]?.objectValue
        facts.sentAt = payload["sentAt"]
        result.events.reserveCapacity(batch.count)
        for (index, element) in batch.enumerated() {
            guard case .object(var event) = element else {
                result.rejected.append(Self.rejection(index, "event must be a JSON object, not \(element.typeName)"))
                continue
            }
            event["writeKey"] = nil
            let eventType = event["type"]?.stringValue.flatMap(EventType.init(rawValue:))
            stamper.stamp(&event, type: eventType, facts: facts)
            let bytes = JSONWriter.bytes(.object(event))
            guard bytes.count <= limits.maxEventBytes else {
                result.rejected.append(Self.rejection(index, "event is \(bytes.count) bytes; the limit is \(limits.maxEventBytes)"))
                continue
            }
            result.events.append(IntakeEvent(bytes: bytes, user: Self.user(of: event)))
        }
        if result.events.isEmpty {
            throw IntakeError.invalidBody(batch.isEmpty ? "the batch is empty" : "no event in the batch was acceptable")
        }
        return result
    }

    /// A single event whose size is only known once stamped (the pixel).
    func checkSize(_ bytes: [UInt8]) throws(IntakeError) {
        guard bytes.count <= limits.maxEventBytes else {
            throw IntakeError.tooLarge("event is \(bytes.count) bytes; the limit is \(limits.maxEventBytes)")
        }
    }

    static func user(of event: JSONObject) -> String? {
        if case .string(let user)? = event["userId"], !user.isEmpty { return user }
        if case .string(let user)? = event["anonymousId"], !user.isEmpty { return user }
        return nil
    }

    private static func rejection(_ index: Int, _ message: String) -> JSONValue {
        ["index": .integer(Int64(index)), "error": .string(message)]
    }
}
