import CMaxMindDB
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A MaxMind DB (GeoIP2 / GeoLite2 City shaped) opened with libmaxminddb.
///
/// The file is memory-mapped once at `init` and unmapped at `deinit`. Lookups
/// only read the mapping, which libmaxminddb documents as thread-safe, so one
/// instance can be shared by every task.
public final class GeoIPDatabase: @unchecked Sendable {
    /// Heap-allocated so its address stays fixed: entries found by lookups
    /// point back at it.
    private let mmdb: UnsafeMutablePointer<MMDB_s>
    public let path: String

    public init(path: String) throws(GeoIPError) {
        let mmdb = UnsafeMutablePointer<MMDB_s>.allocate(capacity: 1)
        mmdb.initialize(to: MMDB_s())
        errno = 0
        let status = MMDB_open(path, UInt32(MMDB_MODE_MMAP), mmdb)
        guard status == MMDB_SUCCESS else {
            var message = String(cString: MMDB_strerror(status))
            // For a file that cannot be opened or read, errno says why.
            if status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR, errno != 0 {
                message += " (\(String(cString: strerror(errno))))"
            }
            mmdb.deinitialize(count: 1)
            mmdb.deallocate()
            throw .openFailed(path: path, message: message)
        }
        self.mmdb = mmdb
        self.path = path
    }

    deinit {
        MMDB_close(mmdb)
        mmdb.deinitialize(count: 1)
        mmdb.deallocate()
    }

    /// The metadata's `database_type`, e.g. "GeoLite2-City".
    public var databaseType: String {
        guard let type = mmdb.pointee.metadata.database_type else { return "" }
        return String(cString: type)
    }

    /// When the database was built (metadata `build_epoch`).
    public var buildDate: Date {
        Date(timeIntervalSince1970: TimeInterval(mmdb.pointee.metadata.build_epoch))
    }

    /// 4 or 6.
    public var ipVersion: Int { Int(mmdb.pointee.metadata.ip_version) }

    /// Looks an address up.
    ///
    /// - Parameter ip: an IPv4 address in dotted-quad form or an IPv6 address
    ///   (RFC 4291 text, IPv4-mapped forms included); surrounding spaces are ignored.
    /// - Returns: the location, or nil when the database has no record for the
    ///   address (private, loopback and reserved ranges are never in GeoIP
    ///   databases) or the record holds none of the fields of `GeoLocation`.
    /// - Throws: `.invalidAddress` when `ip` is not an IPv4/IPv6 literal,
    ///   `.lookupFailed` when libmaxminddb reports an error (e.g. an IPv6
    ///   address in an IPv4-only database).
    public func lookup(_ ip: String) throws(GeoIPError) -> GeoLocation? {
        let trimmed = ip.first?.isWhitespace == true || ip.last?.isWhitespace == true ? ip.trimmingCharacters(in: .whitespaces) : ip
        guard var address = SocketAddress(trimmed) else {
            throw .invalidAddress(ip, message: "not an IPv4 or IPv6 address")
        }
        var mmdbError: Int32 = MMDB_SUCCESS
        var result = address.withSockaddr { MMDB_lookup_sockaddr(mmdb, $0, &mmdbError) }
        if mmdbError != MMDB_SUCCESS {
            throw .lookupFailed(ip: ip, message: String(cString: MMDB_strerror(mmdbError)))
        }
        guard result.found_entry else { return nil }

        let reader = EntryReader(ip: ip)
        let location = try GeoLocation(
            countryCode: reader.string(&result.entry, LookupPath.countryCode),
            countryName: reader.string(&result.entry, LookupPath.countryName),
            region: reader.string(&result.entry, LookupPath.regionName),
            regionCode: reader.string(&result.entry, LookupPath.regionCode),
            city: reader.string(&result.entry, LookupPath.cityName),
            latitude: reader.double(&result.entry, LookupPath.latitude),
            longitude: reader.double(&result.entry, LookupPath.longitude),
            timeZone: reader.string(&result.entry, LookupPath.timeZone),
            postalCode: reader.string(&result.entry, LookupPath.postalCode)
        )
        return location.isEmpty ? nil : location
    }
}

/// An address parsed strictly with `inet_pton` (dotted quads only for IPv4:
/// no "1.2.3" or "0x7f.1" shorthands that getaddrinfo, and so
/// `MMDB_lookup_string`, would accept; no IPv6 zone ids), as the `sockaddr`
/// that `MMDB_lookup_sockaddr` takes.
private enum SocketAddress {
    case v4(sockaddr_in)
    case v6(sockaddr_in6)

    init?(_ text: String) {
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, text, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            self = .v4(v4)
            return
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, text, &v6.sin6_addr) == 1 {
            // An IPv4-mapped address (::ffff:a.b.c.d, what a dual-stack socket
            // reports for IPv4 clients) is looked up as the IPv4 address: not
            // every database aliases ::ffff:0:0/96 to its IPv4 tree.
            let bytes = withUnsafeBytes(of: v6.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                v4.sin_family = sa_family_t(AF_INET)
                withUnsafeMutableBytes(of: &v4.sin_addr) { $0.copyBytes(from: bytes[12..<16]) }
                self = .v4(v4)
                return
            }
            v6.sin6_family = sa_family_t(AF_INET6)
            self = .v6(v6)
            return
        }
        return nil
    }

    mutating func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>) -> T) -> T {
        switch self {
        case .v4(var address):
            return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
        case .v6(var address):
            return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
        }
    }
}

/// A NULL-terminated array of C strings for `MMDB_aget_value`, built once
/// and never freed (there are nine of them, for the life of the process).
private struct LookupPath: @unchecked Sendable {
    let keys: UnsafePointer<UnsafePointer<CChar>?>

    init(_ path: String...) {
        let array = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: path.count + 1)
        for (index, key) in path.enumerated() {
            array[index] = UnsafePointer(strdup(key))
        }
        array[path.count] = nil
        keys = UnsafePointer(array)
    }

    // The GeoIP2/GeoLite2 City record shape.
    static let countryCode = LookupPath("country", "iso_code")
    static let countryName = LookupPath("country", "names", "en")
    static let regionName = LookupPath("subdivisions", "0", "names", "en")
    static let regionCode = LookupPath("subdivisions", "0", "iso_code")
    static let cityName = LookupPath("city", "names", "en")
    static let latitude = LookupPath("location", "latitude")
    static let longitude = LookupPath("location", "longitude")
    static let timeZone = LookupPath("location", "time_zone")
    static let postalCode = LookupPath("postal", "code")
}

/// Reads single values out of a found record with `MMDB_aget_value`
/// (the variadic `MMDB_get_value` cannot be called from Swift).
private struct EntryReader {
    let ip: String

    /// The value at `path`, or nil when the record has no such key.
    private func value(_ entry: inout MMDB_entry_s, _ path: LookupPath) throws(GeoIPError) -> MMDB_entry_data_s? {
        var data = MMDB_entry_data_s()
        let status = MMDB_aget_value(&entry, &data, path.keys)
        switch status {
        case MMDB_SUCCESS:
            return data.has_data ? data : nil
        case MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR, MMDB_INVALID_LOOKUP_PATH_ERROR:
            // e.g. no "subdivisions", or a record of another shape: no value.
            return nil
        default:
            throw .lookupFailed(ip: ip, message: String(cString: MMDB_strerror(status)))
        }
    }

    func string(_ entry: inout MMDB_entry_s, _ path: LookupPath) throws(GeoIPError) -> String? {
        guard let data = try value(&entry, path), data.type == MMDB_DATA_TYPE_UTF8_STRING,
              let start = data.utf8_string
        else { return nil }
        // Strings in the data section are not NUL-terminated.
        let bytes = UnsafeRawBufferPointer(start: start, count: Int(data.data_size))
        return String(decoding: bytes, as: UTF8.self)
    }

    func double(_ entry: inout MMDB_entry_s, _ path: LookupPath) throws(GeoIPError) -> Double? {
        guard let data = try value(&entry, path) else { return nil }
        switch Int32(data.type) {
        case MMDB_DATA_TYPE_DOUBLE: return data.double_value
        case MMDB_DATA_TYPE_FLOAT: return Double(data.float_value)
        case MMDB_DATA_TYPE_INT32: return Double(data.int32)
        case MMDB_DATA_TYPE_UINT16: return Double(data.uint16)
        case MMDB_DATA_TYPE_UINT32: return Double(data.uint32)
        default: return nil
        }
    }
}
