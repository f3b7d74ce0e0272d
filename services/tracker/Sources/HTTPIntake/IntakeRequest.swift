import HTTPTypes
import NIOCore

/// One whole intake request as the channel handler collected it: the head,
/// the body as sent (maybe compressed), and the peer's address.
struct IntakeRequest {
    let head: HTTPRequest
    let body: ByteBuffer
    /// The connection's remote address, for `context.ip`.
    let peer: String?
}
