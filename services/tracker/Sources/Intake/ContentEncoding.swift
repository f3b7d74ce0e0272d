import CompressNIO
import NIOCore

/// `Content-Encoding` of a request body, as the Segment HTTP API takes it:
/// gzip, deflate (the zlib format, RFC 9110 §8.4.1.2) or identity. Inflation
/// stops at the request limit, so a zip bomb costs at most that much memory.
enum ContentEncoding {
    case identity, gzip, deflate

    init(header: String?) throws(IntakeError) {
        switch header?.trimmingCharacters(in: .whitespaces).lowercased() ?? "" {
        case "", "identity": self = .identity
        case "gzip", "x-gzip": self = .gzip
        case "deflate": self = .deflate
        case let other:
            throw IntakeError.unsupportedMediaType("Content-Encoding \(other) is not supported; send gzip, deflate or none")
        }
    }

    /// The body as sent, inflated to at most `limit` bytes (413 beyond).
    func decode(_ body: ByteBuffer, limit: Int) throws(IntakeError) -> ByteBuffer {
        let algorithm: CompressionAlgorithm
        switch self {
        case .identity: return body
        case .gzip: algorithm = .gzip()
        case .deflate: algorithm = .zlib()
        }
        var compressed = body
        do {
            // One byte over the limit tells "too large" from "exactly the limit".
            let inflated = try compressed.decompress(with: algorithm, maxSize: limit + 1)
            guard inflated.readableBytes <= limit else { throw CompressNIOError.bufferOverflow }
            return inflated
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw IntakeError.tooLarge("the \(self) body inflates to more than \(limit) bytes")
        } catch {
            throw IntakeError.invalidBody("the \(self) body could not be inflated: \(error)")
        }
    }
}
