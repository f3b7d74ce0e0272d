import Glibc

/// Works out the client's address: the peer's, or, when the peer is one of
/// the configured trusted proxies, the right-most address in
/// X-Forwarded-For that is not itself a trusted proxy.
struct ClientAddress: Sendable {
    private let trusted: [Network]

    init(trustedProxies: [String]) {
        trusted = trustedProxies.compactMap(Network.init)
    }

    func resolve(peer: String?, forwardedFor: String?) -> String? {
        guard let peer else { return nil }
        guard let forwardedFor, isTrusted(peer) else { return peer }
        for hop in forwardedFor.split(separator: ",").reversed() {
            let address = hop.trimmingCharacters(in: .whitespaces)
            guard Network.bytes(of: address) != nil else { return peer }
            if !isTrusted(address) { return address }
        }
        return peer
    }

    private func isTrusted(_ address: String) -> Bool {
        guard let bytes = Network.bytes(of: address) else { return false }
        return trusted.contains { $0.contains(bytes) }
    }

    /// An address or CIDR block, IPv4 or IPv6.
    struct Network: Sendable {
        let prefix: [UInt8]
        let bits: Int

        init?(_ text: String) {
            let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
            guard let bytes = Network.bytes(of: parts[0]) else { return nil }
            prefix = bytes
            if parts.count == 2 {
                guard let bits = Int(parts[1]), (0...(bytes.count * 8)).contains(bits) else { return nil }
                self.bits = bits
            } else {
                bits = bytes.count * 8
            }
        }

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == prefix.count else { return false }
            var remaining = bits
            for index in 0..<prefix.count where remaining > 0 {
                let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
                if address[index] & mask != prefix[index] & mask { return false }
                remaining -= 8
            }
            return true
        }

        static func bytes(of text: String) -> [UInt8]? {
            var v4 = in_addr()
            if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
            var v6 = in6_addr()
            if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
            return nil
        }
    }
}
