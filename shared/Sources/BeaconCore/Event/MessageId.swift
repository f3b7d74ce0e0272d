#if canImport(Glibc)
import Glibc
#endif

/// Message ids for events that come without one.
public enum MessageId {
    private static let hex = Array("0123456789abcdef".utf8)

    /// A random (version 4) UUID in lower case, as Segment's SDKs write them.
    /// Its bytes come from glibc's `arc4random_buf` (ChaCha20 per thread,
    /// reseeded from the kernel): Foundation's `UUID()` opened /dev/urandom for
    /// each one, 3 % of the tracker's time on events without a messageId.
    public static func random() -> String {
        var bytes: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &bytes) { arc4random_buf($0.baseAddress!, 16) }
        return withUnsafeBytes(of: &bytes) { raw in
            String(unsafeUninitializedCapacity: 36) { out in
                var at = 0
                for index in 0..<16 {
                    var byte = raw[index]
                    if index == 6 { byte = byte & 0x0F | 0x40 }  // version 4
                    if index == 8 { byte = byte & 0x3F | 0x80 }  // RFC 4122 variant
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        out[at] = UInt8(ascii: "-")
                        at += 1
                    }
                    out[at] = hex[Int(byte >> 4)]
                    out[at + 1] = hex[Int(byte & 0x0F)]
                    at += 2
                }
                return at
            }
        }
    }
}
