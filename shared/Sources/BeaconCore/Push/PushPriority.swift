/// APNs 10 / FCM HIGH (deliver now), or APNs 5 / FCM NORMAL (when the device
/// saves power).
public enum PushPriority: String, Sendable, CaseIterable, Codable {
    case high
    case normal
}
