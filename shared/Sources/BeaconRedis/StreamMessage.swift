import BeaconCore

/// One entry of a Redis Stream as XREADGROUP or XAUTOCLAIM return it.
public struct StreamMessage: Sendable, Equatable {
    public let id: String
    public let fields: [(name: String, value: [UInt8])]

    public func field(_ name: String) -> [UInt8]? {
        fields.first(where: { $0.name == name })?.value
    }

    /// The events of an entry of the tracker's events stream, in order: its
    /// one `StreamEntry.eventField`, or every `StreamEntry.packedField`.
    public var events: [[UInt8]] {
        fields.compactMap { $0.name == StreamEntry.eventField || $0.name == StreamEntry.packedField ? $0.value : nil }
    }

    public static func == (lhs: StreamMessage, rhs: StreamMessage) -> Bool {
        lhs.id == rhs.id && lhs.fields.elementsEqual(rhs.fields, by: { $0.name == $1.name && $0.value == $1.value })
    }

    /// Parses `[[id, [field, value, ...]], ...]`. A nil field list (an entry
    /// deleted while pending) gives a message without fields.
    public static func parseList(_ reply: RedisReply) throws(RedisError) -> [StreamMessage] {
        guard let entries = try reply.checked().elements else {
            if reply == .null { return [] }
            throw .protocolViolation("expected a list of stream entries, got \(reply)")
        }
        var messages: [StreamMessage] = []
        messages.reserveCapacity(entries.count)
        for entry in entries {
            guard let parts = entry.elements, parts.count == 2, let id = parts[0].text else {
                throw .protocolViolation("malformed stream entry \(entry)")
            }
            var fields: [(name: String, value: [UInt8])] = []
            if let flat = parts[1].elements {
                var index = 0
                while index + 1 < flat.count {
                    if let name = flat[index].text, case .string(let value) = flat[index + 1] {
                        fields.append((name: name, value: value))
                    }
                    index += 2
                }
            }
            messages.append(StreamMessage(id: id, fields: fields))
        }
        return messages
    }

    /// Parses an XREADGROUP reply: `[[stream, entries], ...]` or nil on timeout.
    public static func parseRead(_ reply: RedisReply) throws(RedisError) -> [StreamMessage] {
        if reply == .null { return [] }
        guard let streams = try reply.checked().elements else { throw .protocolViolation("XREADGROUP reply \(reply)") }
        var messages: [StreamMessage] = []
        for stream in streams {
            guard let parts = stream.elements, parts.count == 2 else { throw .protocolViolation("XREADGROUP stream \(stream)") }
            messages.append(contentsOf: try parseList(parts[1]))
        }
        return messages
    }

    /// Parses an XAUTOCLAIM reply: `[next-cursor, entries, deleted-ids]`.
    public static func parseAutoClaim(_ reply: RedisReply) throws(RedisError) -> (cursor: String, messages: [StreamMessage]) {
        guard let parts = try reply.checked().elements, parts.count >= 2, let cursor = parts[0].text else {
            throw .protocolViolation("XAUTOCLAIM reply \(reply)")
        }
        return (cursor, try parseList(parts[1]))
    }
}
