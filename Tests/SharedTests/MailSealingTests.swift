import BeaconSealing
import Crypto
import Foundation
import Testing

/// The sealing contract between the tracker (or a device) and the pinger:
/// HPKE to the pinger's key, bound to the app, keyed by key id for rotation.
@Suite struct MailSealingTests {
    let account = Data(#"{"host":"imap.example.com","port":993,"tls":"implicit","username":"me","password":"hunter2-secret","mailbox":"INBOX"}"#.utf8)
    let secret = "hunter2-secret"

    @Test func sealedBytesOpenWithThePrivateKeyForTheSameApp() throws {
        let privateKey = P256.KeyAgreement.PrivateKey()
        let keys = try MailSealingPrivateKeys([privateKey])
        let publicKey = try MailSealingPublicKey(pem: privateKey.publicKey.pemRepresentation)
        #expect(publicKey.keyId == keys.keyIds[0])
        #expect(publicKey.keyId.count == 16)
        let sealed = try publicKey.seal(account, app: "shop")
        let parts = sealed.split(separator: ".")
        #expect(parts.count == 4 && parts[0] == "v1" && parts[1] == Substring(publicKey.keyId))
        #expect(!sealed.contains(secret))
        #expect(try keys.open(sealed, app: "shop") == account)
        // Sealing twice gives different bytes (a fresh encapsulated key each time).
        #expect(try publicKey.seal(account, app: "shop") != sealed)
    }

    @Test func anotherAppAnAlteredCiphertextOrAnotherKeyDoNotOpen() throws {
        let privateKey = P256.KeyAgreement.PrivateKey()
        let keys = try MailSealingPrivateKeys([privateKey])
        let sealed = try MailSealingPublicKey(privateKey.publicKey).seal(account, app: "shop")

        let wrongApp = #expect(throws: SealingError.self) { try keys.open(sealed, app: "other") }
        #expect(wrongApp?.description.contains("do not open") == true)

        var parts = sealed.split(separator: ".").map(String.init)
        var ciphertext = try #require(Base64URL.decode(parts[3]))
        ciphertext[ciphertext.startIndex + 3] ^= 0x01
        parts[3] = Base64URL.encode(ciphertext)
        let altered = #expect(throws: SealingError.self) { try keys.open(parts.joined(separator: "."), app: "shop") }

        let otherKeys = try MailSealingPrivateKeys([P256.KeyAgreement.PrivateKey()])
        let unknown = #expect(throws: SealingError.self) { try otherKeys.open(sealed, app: "shop") }
        let keyId = MailSealing.keyId(of: privateKey.publicKey)
        #expect(unknown?.description.contains(keyId) == true, "\(unknown?.description ?? "")")
        #expect(unknown?.description.contains(otherKeys.keyIds[0]) == true)

        let malformed = #expect(throws: SealingError.self) { try keys.open("v2.abc.def", app: "shop") }
        // No error text ever holds the plaintext, or any of its fields.
        for error in [wrongApp, altered, unknown, malformed] {
            let text = error?.description ?? ""
            #expect(!text.contains(secret) && !text.contains("imap.example.com") && !text.contains("username"), "\(text)")
        }
    }

    /// During a rotation the pinger holds the new key first and the old one
    /// after: what was sealed to either opens.
    @Test func bothKeysOfARotationOpen() throws {
        let old = P256.KeyAgreement.PrivateKey(), new = P256.KeyAgreement.PrivateKey()
        let keys = try MailSealingPrivateKeys([new, old])
        #expect(keys.publicKey.keyId == MailSealing.keyId(of: new.publicKey))
        let sealedToOld = try MailSealingPublicKey(old.publicKey).seal(account, app: "shop")
        let sealedToNew = try keys.publicKey.seal(account, app: "shop")
        #expect(try keys.open(sealedToOld, app: "shop") == account)
        #expect(try keys.open(sealedToNew, app: "shop") == account)
        #expect(MailSealing.keyId(of: old.publicKey) != MailSealing.keyId(of: new.publicKey))
    }

    @Test func keysAreReadFromPEMFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sealing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let privateKey = P256.KeyAgreement.PrivateKey()
        let privatePath = directory.appendingPathComponent("private.pem").path
        let publicPath = directory.appendingPathComponent("public.pem").path
        try privateKey.pemRepresentation.write(toFile: privatePath, atomically: true, encoding: .utf8)
        try privateKey.publicKey.pemRepresentation.write(toFile: publicPath, atomically: true, encoding: .utf8)
        let keys = try MailSealingPrivateKeys(files: [privatePath])
        let publicKey = try MailSealingPublicKey(file: publicPath)
        #expect(try keys.open(try publicKey.seal(account, app: "a"), app: "a") == account)
        #expect(throws: SealingError.self) { try MailSealingPublicKey(file: privatePath + ".missing") }
        #expect(throws: SealingError.self) { try MailSealingPublicKey(pem: "not a key") }
    }

    @Test func base64URLRoundTripsWithoutPadding() {
        for length in 0..<8 {
            let bytes = Data((0..<length).map { UInt8($0 * 63 % 256) } + [0xFB, 0xFF])
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
        }
        #expect(Base64URL.decode("ab=c") == nil)
    }
}
