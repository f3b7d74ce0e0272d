import HTTPTypes
import NIOCore
import NIOHTTP1

/// One whole intake request as the channel handler collected it: the head,
/// the body as sent (maybe compressed), and the peer's address.
struct IntakeRequest {
    let head: HTTPRequestHead
    let body: ByteBuffer
    /// The connection's remote address, for `context.ip`.
    let peer: String?

    /// A header's first value (names are matched without regard to case).
    func header(_ name: HTTPField.Name) -> String? {
        head.headers.first(name: name.canonicalName)
    }
}
