import Glibc

/// Every outbound target a user can name (webhooks, postbacks, mail hosts,
/// Web Push endpoints) must be public: a rule or a registration must not make
/// Beacon call into the network it runs in (cloud metadata, databases, admin
/// ports). Callers connect to the addresses this returns, not to the name
/// again, so that a second DNS answer cannot rebind it.
public enum PublicAddressGuard {
    /// Resolves `host` and refuses it when any of its addresses is private,
    /// loopback, link-local or otherwise reserved: a permanent failure, no
    /// retry makes it public. A name that does not resolve is transient (DNS
    /// may be away). `what` names the target in errors ("webhook", "mail").
    public static func checkPublic(host: String, allowPrivate: Bool, what: String = "webhook") throws(ServiceError) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &result)
        guard status == 0, let first = result else {
            throw .transient("\(what) host \(host) does not resolve: \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let bytes = bytes(of: entry.pointee) {
                let text = format(bytes)
                if !allowPrivate, isPrivate(bytes) {
                    throw .permanent("\(what) host \(host) resolves to \(text), a private or reserved address")
                }
                addresses.append(text)
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }

    public static func isPrivate(_ address: [UInt8]) -> Bool {
        if address.count == 4 { return isPrivateV4(address) }
        guard address.count == 16 else { return true }
        // IPv4-mapped (::ffff:a.b.c.d) and -compatible (::a.b.c.d) addresses,
        // and 6to4 (2002:aabb:ccdd::/48), are judged by the IPv4 address inside.
        if address[0..<10].allSatisfy({ $0 == 0 }) && address[10] == 0xFF && address[11] == 0xFF {
            return isPrivateV4(Array(address[12..<16]))
        }
        if address[0..<12].allSatisfy({ $0 == 0 }) { return true }  // ::, ::1 and the deprecated ::/96
        if address[0] == 0x20 && address[1] == 0x02, isPrivateV4(Array(address[2..<6])) { return true }
        if address[0] & 0xFE == 0xFC { return true }  // fc00::/7 unique local
        if address[0] == 0xFE && address[1] & 0xC0 == 0x80 { return true }  // fe80::/10 link-local
        if address[0] == 0xFF { return true }  // multicast
        if address[0] == 0x20 && address[1] == 0x01 && address[2] == 0x0D && address[3] == 0xB8 { return true }  // documentation
        if address[0] == 0x00 && address[1] == 0x64 && address[2] == 0xFF && address[3] == 0x9B { return true }  // NAT64
        return false
    }

    private static func isPrivateV4(_ a: [UInt8]) -> Bool {
        switch (a[0], a[1]) {
        case (0, _), (10, _), (127, _): return true
        case (100, 64...127): return true  // carrier-grade NAT
        case (169, 254): return true  // link-local, cloud metadata
        case (172, 16...31): return true
        case (192, 168): return true
        case (192, 0) where a[2] == 0 || a[2] == 2: return true
        case (198, 18...19): return true  // benchmarking
        case (198, 51) where a[2] == 100, (203, 0) where a[2] == 113: return true  // documentation
        case (224...255, _): return true  // multicast, reserved, broadcast
        default: return false
        }
    }

    private static func bytes(of info: addrinfo) -> [UInt8]? {
        guard let address = info.ai_addr else { return nil }
        switch info.ai_family {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
            }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
        default:
            return nil
        }
    }

    private static func format(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        _ = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
