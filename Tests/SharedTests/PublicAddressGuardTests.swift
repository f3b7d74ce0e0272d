import Glibc
import Testing
@testable import BeaconCore

/// The private-address guard: a webhook (and every later target a user can
/// name) must not reach into the network Beacon runs in.
@Suite struct PublicAddressGuardTests {
    static func bytes(_ text: String) -> [UInt8] {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        precondition(inet_pton(AF_INET6, text, &v6) == 1, "not an address: \(text)")
        return withUnsafeBytes(of: &v6) { Array($0) }
    }

    /// Every range the README names, at both ends where it has them.
    static let privateAddresses = [
        // "this network", loopback, RFC 1918
        "0.0.0.0", "0.255.255.255", "127.0.0.1", "127.255.255.254", "10.0.0.0", "10.255.255.255",
        "172.16.0.0", "172.31.255.255", "192.168.0.0", "192.168.255.255",
        // link-local and cloud metadata, carrier-grade NAT
        "169.254.0.1", "169.254.169.254", "100.64.0.0", "100.127.255.255",
        // IETF protocol assignments, documentation, benchmarking
        "192.0.0.8", "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1", "198.19.255.255",
        // multicast, reserved, broadcast
        "224.0.0.1", "239.255.255.255", "240.0.0.1", "255.255.255.255",
        // IPv6: unspecified, loopback, unique-local, link-local, multicast, documentation, NAT64
        "::", "::1", "fc00::1", "fdff:ffff::1", "fe80::1", "febf::1", "ff02::1", "2001:db8::1", "64:ff9b::808:808",
        // IPv4 inside IPv6: mapped, compatible, 6to4
        "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", "::127.0.0.1", "2002:7f00:1::1", "2002:a00:1::",
    ]

    static let publicAddresses = [
        "1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0",
        "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0", "192.167.255.255", "192.169.0.0", "198.17.255.255",
        "198.20.0.0", "223.255.255.255", "2606:4700:4700::1111", "2001:4860:4860::8888", "::ffff:8.8.8.8", "2002:808:808::1",
    ]

    @Test(arguments: privateAddresses) func privateAndReservedAddressesAreRefused(_ address: String) {
        #expect(PublicAddressGuard.isPrivate(Self.bytes(address)), "\(address) should count as private")
    }

    @Test(arguments: publicAddresses) func publicAddressesPass(_ address: String) {
        #expect(!PublicAddressGuard.isPrivate(Self.bytes(address)), "\(address) should count as public")
    }

    /// Hosts written as numbers in other forms resolve to the same addresses
    /// (the resolver accepts them), and are refused the same way, for good.
    @Test(arguments: ["127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "127.1", "017700000001", "[::1]", "::1",
                      "::ffff:127.0.0.1", "localhost", "169.254.169.254", "0xa9fea9fe", "10.0.0.1", "012.0.0.1"])
    func numericFormsOfPrivateHostsAreRefusedPermanently(_ host: String) {
        let name = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let error = #expect(throws: ServiceError.self) { try PublicAddressGuard.checkPublic(host: name, allowPrivate: false) }
        #expect(error?.kind == .permanent, "\(host): \(String(describing: error))")
        #expect(error?.message.contains("private or reserved") == true)
    }

    @Test func allowPrivateLiftsTheGuardForTests() throws {
        #expect(try PublicAddressGuard.checkPublic(host: "127.0.0.1", allowPrivate: true) == ["127.0.0.1"])
    }

    @Test func aNameThatDoesNotResolveIsTransient() {
        let error = #expect(throws: ServiceError.self) {
            try PublicAddressGuard.checkPublic(host: "no-such-host.invalid", allowPrivate: false)
        }
        #expect(error?.kind == .transient)
    }
}
