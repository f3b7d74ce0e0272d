import BeaconCore
import NIOHTTP1

/// The requests the intake answers itself; everything else (health,
/// readiness, metrics, preflights, unknown paths) goes on to the router.
enum IntakeRoute: Equatable {
    /// `POST /v1/{type}` and analytics.js's `/v1/{first letter}`; nil type: a batch.
    case events(EventType?)
    /// `GET /t/{event}`.
    case pixel(Substring)

    private static let byName: [Substring: EventType?] = {
        var names: [Substring: EventType?] = ["batch": .none, "import": .none, "b": .none]
        for type in EventType.allCases {
            names[Substring(type.rawValue)] = type
            names[Substring(type.rawValue.prefix(1))] = type
        }
        return names
    }()

    init?(_ head: HTTPRequestHead) {
        let target = head.uri
        let path = target.firstIndex(of: "?").map { target[..<$0] } ?? target[...]
        switch head.method {
        case .POST where path.hasPrefix("/v1/"):
            guard let type = Self.byName[path.dropFirst(4)] else { return nil }
            self = .events(type)
        case .GET where path.hasPrefix("/t/"):
            let name = path.dropFirst(3)
            guard !name.isEmpty, !name.contains("/") else { return nil }
            self = .pixel(name)
        default:
            return nil
        }
    }
}
