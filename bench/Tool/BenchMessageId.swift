/// The benchmark's messageIds, `bench-<run>-<sequence>`, and finding one in a
/// Kafka message or a live-view frame without parsing the whole JSON.
struct BenchMessageId: Sendable {
    let run: String
    private let needle: [UInt8]

    init(run: String) {
        self.run = run
        needle = Array("\"messageId\":\"bench-\(run)-".utf8)
    }

    func make(_ sequence: Int) -> String { "bench-\(run)-\(sequence)" }

    /// The sequence number of this run's messageId in `bytes`, or nil.
    func sequence(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let start = firstIndex(of: needle, in: bytes) else { return nil }
        var index = start + needle.count
        var value = 0
        var digits = 0
        while index < bytes.count, case let byte = bytes[index], byte >= 48, byte <= 57 {
            value = value * 10 + Int(byte - 48)
            digits += 1
            index += 1
        }
        return digits > 0 ? value : nil
    }

    private func firstIndex(of needle: [UInt8], in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let first = needle.first, bytes.count >= needle.count else { return nil }
        var index = 0
        let last = bytes.count - needle.count
        outer: while index <= last {
            if bytes[index] == first {
                for offset in 1..<needle.count where bytes[index + offset] != needle[offset] {
                    index += 1
                    continue outer
                }
                return index
            }
            index += 1
        }
        return nil
    }

    func sequence(in bytes: [UInt8]) -> Int? { bytes.withUnsafeBytes { sequence(in: $0) } }
}
