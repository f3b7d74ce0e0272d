import NIOSSL

/// The host-name half of certificate verification, stricter than NIOSSL's:
/// NIOSSL accepts a certificate whose IP address entry matches the connected
/// address whatever host name was asked for, so a spoofed DNS answer plus a
/// certificate for the attacker's own IP would pass. When the endpoint is a
/// DNS name, one of the certificate's DNS names must match it (RFC 6125 6.4).
enum IMAPCertificateName {
    /// True when `certificate` names `host` in a DNS subjectAltName; also true
    /// for a certificate without any subjectAltName (NIOSSL then checked its
    /// common name against `host`).
    static func certificate(_ certificate: NIOSSLCertificate, names host: String) -> Bool {
        var hasAlternativeNames = false
        for name in certificate._subjectAlternativeNames() {
            hasAlternativeNames = true
            guard name.nameType == .dnsName else { continue }
            if matches(pattern: String(decoding: Array(name.contents), as: UTF8.self), host: host) { return true }
        }
        return !hasAlternativeNames
    }

    /// Case-insensitive; "*." matches exactly one whole leftmost label.
    static func matches(pattern: String, host: String) -> Bool {
        let pattern = normalised(pattern), host = normalised(host)
        guard !pattern.isEmpty, !host.isEmpty else { return false }
        if pattern.hasPrefix("*.") {
            let suffix = pattern.dropFirst(2)
            guard suffix.contains("."), let dot = host.firstIndex(of: ".") else { return false }
            return host[..<dot].count > 0 && host[host.index(after: dot)...] == suffix
        }
        return pattern == host
    }

    private static func normalised(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
    }
}
