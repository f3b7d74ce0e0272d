import Crypto
import Foundation

/// Standard Webhooks signing: `webhook-id`, `webhook-timestamp` (Unix
/// seconds of this attempt) and `webhook-signature`, a space-separated list
/// of `v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>`, one per secret.
enum WebhookSigner {
    static func headers(id: String, timestamp: Int, body: [UInt8], secrets: [[UInt8]]) -> [(String, String)] {
        var headers = [("webhook-id", id), ("webhook-timestamp", String(timestamp))]
        guard !secrets.isEmpty else { return headers }
        var content = Array("\(id).\(timestamp).".utf8)
        content.append(contentsOf: body)
        let signatures = secrets.map { secret in
            "v1," + Data(HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: secret))).base64EncodedString()
        }
        headers.append(("webhook-signature", signatures.joined(separator: " ")))
        return headers
    }
}
