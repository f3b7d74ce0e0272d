import BeaconCore

/// Judges one datagram on its own, with the same core as the HTTP intake:
/// JSON with `writeKey` inside, one event (its `type` inside) or a
/// `{"batch": [...]}`, stamped with the datagram's source address as
/// `context.ip`, then the app's rate limits. Nothing here waits or throws
/// past it: a bad datagram becomes an outcome to count, never an error.
struct DatagramReader: Sendable {
    enum Judgement {
        /// Ready for the writer; `rejectedEvents` are events of a batch that were not taken.
        case accepted(AdmittedEvents, app: String, rejectedEvents: Int)
        case refused(DatagramOutcome, reason: String)
    }

    let writeKeys: WriteKeys
    let reader: PayloadReader
    let admission: EventAdmission

    var limits: IntakeLimits { reader.limits }

    /// - Parameters:
    ///   - source: the sender's address (`context.ip` unless the event has one).
    ///   - receivedAt: the stamp for the events (one per read burst is enough).
    func judge(_ datagram: some Collection<UInt8>, source: String?, receivedAt: String) -> Judgement {
        do {
            let (admitted, app, rejected) = try read(datagram, source: source, receivedAt: receivedAt)
            return .accepted(admitted, app: app, rejectedEvents: rejected)
        } catch {
            return .refused(DatagramOutcome(error.code), reason: error.message)
        }
    }

    private func read(_ datagram: some Collection<UInt8>, source: String?, receivedAt: String) throws(IntakeError)
        -> (AdmittedEvents, String, Int)
    {
        let size = datagram.count
        guard size > 0 else { throw IntakeError.invalidJSON("the datagram is empty") }
        // Only when the limit was set below a datagram's ~64 KB.
        guard size <= limits.maxRequestBytes else {
            throw IntakeError.tooLarge("datagram is \(size) bytes; the limit is \(limits.maxRequestBytes)")
        }
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(datagram)
        } catch {
            throw IntakeError.invalidJSON("malformed JSON: \(error)")
        }
        guard case .object(let payload) = parsed else { throw IntakeError.invalidBody("a datagram must be a JSON object") }
        guard case .string(let writeKey)? = payload["writeKey"], !writeKey.isEmpty else {
            throw IntakeError.unauthorized("no write key: send it as \"writeKey\" in the datagram")
        }
        guard let app = writeKeys.app(for: writeKey) else { throw IntakeError.unauthorized("unknown write key") }
        let facts = EventStamper.RequestFacts(writeKey: writeKey, app: app, receivedAt: receivedAt, ip: source)
        let read = try reader.read(payload, type: try Self.type(of: payload), size: size, facts: facts)
        return (try admission.admit(read.events, app: app, writeKey: writeKey), app, read.rejected.count)
    }

    /// nil for a batch; otherwise the event's own `type`, which must be one of Segment's.
    private static func type(of payload: JSONObject) throws(IntakeError) -> EventType? {
        if payload["batch"] != nil { return nil }
        guard let value = payload["type"] else {
            throw IntakeError.invalidBody("a datagram needs a \"type\" (one event) or a \"batch\" array")
        }
        guard let name = value.stringValue, let type = EventType(rawValue: name) else {
            let known = EventType.allCases.map(\.rawValue).joined(separator: ", ")
            throw IntakeError.invalidBody("unknown event type \(JSONWriter.string(value)); one of \(known)")
        }
        return type
    }
}
