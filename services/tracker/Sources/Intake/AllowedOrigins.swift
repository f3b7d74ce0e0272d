import BeaconCore

/// Which web pages may send an app's events: `cors.<app>.allowedOrigins`,
/// each an origin as browsers send it (`https://shop.example.com`) or `*`
/// for any. A request without an Origin header (a server SDK, curl, a
/// pixel) is not a browser's and is never refused here.
struct AllowedOrigins: Sendable {
    /// nil: any origin.
    private let origins: [String: Set<String>?]

    init(_ originsByApp: [String: [String]]) {
        origins = originsByApp.mapValues { list in list.contains("*") ? nil : Set(list.map { Self.normalised($0) }) }
    }

    func allows(_ origin: String?, app: String) -> Bool {
        guard let origin else { return true }
        guard let allowed = origins[app], let allowed else { return true }
        return allowed.contains(Self.normalised(origin))
    }

    /// Scheme and host are case-insensitive; a trailing slash is not part of an origin.
    private static func normalised(_ origin: String) -> String {
        var value = origin.lowercased()
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }
}
