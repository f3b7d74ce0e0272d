import BeaconCore
import HTTPTypes
import NIOCore
import NIOHTTP1

/// An answer the intake writes itself: status, headers, a body whose length
/// is known.
struct IntakeResponse {
    var status: HTTPResponse.Status
    var headers: HTTPHeaders
    var body: ByteBuffer

    init(status: HTTPResponse.Status, headers: HTTPHeaders, body: ByteBuffer) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    init(status: HTTPResponse.Status, json: JSONValue) {
        self.init(status: status, headers: ["Content-Type": "application/json"], body: ByteBuffer(bytes: JSONWriter.bytes(json)))
    }

    /// What Segment answers: `{"success":true}`.
    static let success = IntakeResponse(
        status: .ok, headers: ["Content-Type": "application/json"], body: ByteBuffer(string: #"{"success":true}"#))

    /// A 1×1 transparent GIF, for the pixel.
    static let pixel = IntakeResponse(
        status: .ok, headers: ["Content-Type": "image/gif", "Cache-Control": "no-store, max-age=0"],
        body: ByteBuffer(bytes: [
            0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00,
            0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
        ]))
}
