import NIOSSL
import Synchronization

/// How TLS is used on the connection.
public enum IMAPTLSMode: String, Sendable, CaseIterable {
    /// TLS from the first byte (imaps, usually port 993).
    case implicit
    /// Plaintext greeting, then STARTTLS before anything else (usually port 143).
    case starttls
    /// No TLS at all (tests and trusted private networks only).
    case none
}

/// Where a mailbox's server is.
public struct IMAPEndpoint: Sendable, Hashable {
    /// The server's name: SNI and certificate verification use it.
    public var host: String
    /// Connect here when set: the address the private-address guard resolved
    /// and approved, so a second DNS lookup cannot point elsewhere (rebinding).
    public var address: String?
    public var port: Int
    public var tls: IMAPTLSMode

    public init(host: String, address: String? = nil, port: Int, tls: IMAPTLSMode) {
        self.host = host
        self.address = address
        self.port = port
        self.tls = tls
    }
}

/// TLS trust. Certificate verification (chain and host name) is always on.
public struct IMAPTLSSettings: Sendable, Hashable {
    /// A PEM file of CA certificates trusted in addition to the system roots
    /// (tests, private deployments).
    public var extraCAFile: String?

    public init(extraCAFile: String? = nil) {
        self.extraCAFile = extraCAFile
    }

    /// One context per settings, shared by every connection: building one
    /// loads the system roots, far too costly per mailbox.
    func context() throws(IMAPError) -> NIOSSLContext {
        if let cached = Self.contexts.withLock({ $0[self] }) { return cached }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        configuration.trustRoots = .default
        configuration.minimumTLSVersion = .tlsv12
        if let file = extraCAFile {
            configuration.additionalTrustRoots = [.file(file)]
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw .tlsFailed("cannot set up TLS (CA file \(extraCAFile ?? "none")): \(error)")
        }
        Self.contexts.withLock { $0[self] = context }
        return context
    }

    private static let contexts = Mutex<[IMAPTLSSettings: NIOSSLContext]>([:])
}

extension IMAPEndpoint {
    /// The name to send as SNI: none for an IP literal (SNI forbids them; the
    /// certificate is then checked against the connected address).
    var serverNameIndication: String? {
        if host.contains(":") { return nil }  // IPv6 literal
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) { return nil }
        return host
    }
}
