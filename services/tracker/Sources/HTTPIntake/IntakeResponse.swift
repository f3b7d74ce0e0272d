import BeaconCore
import HTTPTypes
import NIOCore

/// An answer the intake writes itself: status, headers, a body whose length
/// is known.
struct IntakeResponse {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: ByteBuffer

    init(status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    init(status: HTTPResponse.Status, json: JSONValue) {
        self.init(status: status, headers: [.contentType: "application/json"], body: ByteBuffer(bytes: JSONWriter.bytes(json)))
    }

    /// What Segment answers: `{"success":true}`.
    static let success = IntakeResponse(
        status: .ok, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"success":true}"#))

    /// A 1×1 transparent GIF, for the pixel.
    static let pixel = IntakeResponse(
        status: .ok, headers: [.contentType: "image/gif", .cacheControl: "no-store, max-age=0"],
        body: ByteBuffer(bytes: [
            0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00,
            0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
        ]))
}
