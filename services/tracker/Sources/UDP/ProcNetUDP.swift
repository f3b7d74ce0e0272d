import Foundation

/// The kernel's table of UDP sockets (`/proc/net/udp`, `/proc/net/udp6`):
/// one line a socket, with its local address as hex `ADDR:PORT` and, last,
/// the datagrams dropped for it (receive buffer full). The fallback where the
/// socket's own count (SO_MEMINFO) is not offered.
struct ProcNetUDP {
    static let tables = ["/proc/net/udp", "/proc/net/udp6"]

    /// Drops of the sockets bound to `port`, summed over both tables; nil
    /// when no table lists such a socket (no /proc, or a kernel that hides it).
    static func drops(port: Int, tables: [String] = tables) -> Int? {
        var found: Int?
        for path in tables {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            if let drops = drops(port: port, in: text) { found = (found ?? 0) + drops }
        }
        return found
    }

    /// The same, over one table's text.
    static func drops(port: Int, in table: String) -> Int? {
        let wanted = String(format: "%04X", port)
        var found: Int?
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
            guard fields.count >= 13, let colon = fields[1].lastIndex(of: ":"),
                fields[1][fields[1].index(after: colon)...].uppercased() == wanted, let drops = Int(fields[fields.count - 1])
            else { continue }
            found = (found ?? 0) + drops
        }
        return found
    }
}
