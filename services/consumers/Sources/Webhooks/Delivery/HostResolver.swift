import BeaconCore

/// Turns a host name into the addresses that will be connected to, refusing
/// private ones. Asked once per call (a cache may answer), and the call goes
/// to what it returned: a name cannot rebind between check and connect.
protocol HostResolver: Sendable {
    /// The checked addresses (a permanent `ServiceError` for a private one).
    func resolve(_ host: String, allowPrivate: Bool) throws(ServiceError) -> [String]
}

/// The system's resolver (`getaddrinfo`) behind the private-address guard.
struct SystemHostResolver: HostResolver {
    func resolve(_ host: String, allowPrivate: Bool) throws(ServiceError) -> [String] {
        try PublicAddressGuard.checkPublic(host: host, allowPrivate: allowPrivate, what: "webhook")
    }
}
