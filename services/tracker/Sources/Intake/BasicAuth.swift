/// The username of an `Authorization: Basic` header: where Segment's SDKs put the write key.
///
/// Every request carries one, so it is decoded on the header's bytes (no
/// Foundation base64, no intermediate Strings).
enum BasicAuth {
    static func username(fromHeader header: String?) -> String? {
        guard var header else { return nil }
        return header.withUTF8 { bytes -> String? in
            let scheme = Array("basic ".utf8)
            guard bytes.count > scheme.count else { return nil }
            for (offset, expected) in scheme.enumerated() where bytes[offset] | 0x20 != expected {
                return nil  // | 0x20 lowercases letters and leaves the space alone
            }
            var start = scheme.count, end = bytes.count
            while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
            while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
            guard let credentials = decodeBase64(UnsafeBufferPointer(rebasing: bytes[start..<end])),
                  let user = String(validating: credentials.prefix { $0 != UInt8(ascii: ":") }, as: UTF8.self)
            else { return nil }
            return user.isEmpty ? nil : user
        }
    }

    /// Standard base64 with padding; nil for anything else.
    static func decodeBase64(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0, !text.isEmpty else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count / 4 * 3)
        var index = 0
        while index < text.count {
            var quad: UInt32 = 0
            var padding = 0
            for k in 0..<4 {
                let byte = text[index + k]
                let value: UInt32
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - 65)
                case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - 97 + 26)
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - 48 + 52)
                case UInt8(ascii: "+"): value = 62
                case UInt8(ascii: "/"): value = 63
                case UInt8(ascii: "=") where index + 4 == text.count && k >= 2:
                    value = 0
                    padding += 1
                default: return nil
                }
                if padding > 0 && byte != UInt8(ascii: "=") { return nil }  // data after padding
                quad = quad << 6 | value
            }
            output.append(UInt8(quad >> 16 & 0xFF))
            if padding < 2 { output.append(UInt8(quad >> 8 & 0xFF)) }
            if padding < 1 { output.append(UInt8(quad & 0xFF)) }
            index += 4
        }
        return output
    }
}
