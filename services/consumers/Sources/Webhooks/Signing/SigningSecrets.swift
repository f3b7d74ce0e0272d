import BeaconCore
import Foundation

/// The Standard Webhooks secrets, by name (an app, or a key a rule names
/// with `signingKey`). A secret is `whsec_` and base64 of 24 to 64 random
/// bytes; during a rotation a name has two, and both sign.
struct SigningSecrets: Sendable {
    private let keys: [String: [[UInt8]]]

    init(_ secrets: [String: [String]], key: String) throws(SettingsError) {
        var keys: [String: [[UInt8]]] = [:]
        for (name, list) in secrets where !list.isEmpty {
            keys[name] = try list.map { secret throws(SettingsError) in
                guard secret.hasPrefix("whsec_"), let bytes = Data(base64Encoded: String(secret.dropFirst(6))), !bytes.isEmpty else {
                    throw .invalid(key: key.replacingOccurrences(of: "<app>", with: name), value: "***",
                                   reason: "a secret is whsec_ followed by base64 (Standard Webhooks)")
                }
                return Array(bytes)
            }
        }
        self.keys = keys
    }

    func keys(for name: String) -> [[UInt8]] { keys[name] ?? [] }

    var names: [String] { keys.keys.sorted() }
}
