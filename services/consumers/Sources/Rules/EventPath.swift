import BeaconCore

/// A dotted path into an event, parsed once: `properties.total`,
/// `enrichment.geo.city`, `properties.items.0.sku` (a number indexes a list).
///
/// `traits.…` falls back to `context.traits.…` when the event has no top-level
/// `traits` (Segment puts traits at the top of identify calls and under
/// `context` everywhere else), so one template serves both.
public struct EventPath: Sendable, Hashable, CustomStringConvertible {
    public let segments: [String]

    /// Nil when the text is not a path (empty, or with an empty segment such as `a..b`).
    public init?(_ text: String) {
        let segments = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !segments.isEmpty else { return nil }
        for segment in segments {
            guard !segment.isEmpty, !segment.contains(where: Self.isForbidden) else { return nil }
        }
        self.segments = segments
    }

    public init(segments: [String]) {
        self.segments = segments
    }

    private static func isForbidden(_ character: Character) -> Bool {
        character.isWhitespace || character == "{" || character == "}" || character == "|" || character == "\"" || character == "'"
    }

    public var description: String { segments.joined(separator: ".") }

    /// The value at this path, nil when any step is missing.
    public func resolve(in event: JSONValue) -> JSONValue? {
        if let value = Self.walk(event, segments[...]) { return value }
        if segments[0] == "traits", event["traits"] == nil, let context = event["context"] {
            return Self.walk(context, segments[...])
        }
        return nil
    }

    private static func walk(_ root: JSONValue, _ segments: ArraySlice<String>) -> JSONValue? {
        var current = root
        for segment in segments {
            switch current {
            case .object(let object):
                guard let next = object[segment] else { return nil }
                current = next
            case .array(let elements):
                guard let index = Int(segment), elements.indices.contains(index) else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }
}
