/// The Segment call types Beacon accepts.
public enum EventType: String, Sendable, CaseIterable, Codable {
    case track, identify, page, screen, group, alias
}
