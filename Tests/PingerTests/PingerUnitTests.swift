import BeaconCore
import BeaconSealing
import Crypto
import Foundation
import Testing
@testable import PingerService

/// The pinger's decisions that need no server: when mail is new, what a
/// push's id is, what an opened account may be, which outcomes end a registration.
@Suite struct PingerUnitTests {
    @Test func newMailIsAHigherUIDNextUnderTheSameUIDValidity() {
        let stored = MailboxWatermark(uidValidity: 7, uidNext: 10)
        #expect(MailboxWatermark.change(from: nil, to: stored) == .baseline)
        #expect(MailboxWatermark.change(from: stored, to: stored) == .unchanged)
        #expect(MailboxWatermark.change(from: stored, to: .init(uidValidity: 7, uidNext: 9)) == .unchanged)
        #expect(MailboxWatermark.change(from: stored, to: .init(uidValidity: 7, uidNext: 13)) == .newMail(count: 3))
        #expect(MailboxWatermark.change(from: stored, to: .init(uidValidity: 8, uidNext: 13)) == .reset)
    }

    func registration(_ id: String = "r1", token: String = "t1") -> MailRegistration {
        MailRegistration(
            registrationId: id, app: "shop", deviceToken: token, platform: .ios, sealedAccount: "v1.x.y.z",
            notification: MailNotification(), expiresAt: "2026-12-03T00:00:00.000Z", receivedAt: "2026-12-01T00:00:00.000Z")
    }

    func account(_ json: String) throws(ServiceError) -> MailAccount { try MailAccount(json: Data(json.utf8)) }

    @Test func aPushIdDependsOnTheDeviceTheMailboxAndTheWatermarkOnly() throws {
        let mailbox = try account(#"{"host":"imap.example.com","username":"ada","password":"p","mailbox":"INBOX"}"#)
        let other = try account(#"{"host":"imap.example.com","username":"bob","password":"p"}"#)
        let mark = MailboxWatermark(uidValidity: 1, uidNext: 5)
        let id = MailPushWriter.requestId(registration: registration(), account: mailbox, watermark: mark)
        #expect(id == MailPushWriter.requestId(registration: registration("r2"), account: mailbox, watermark: mark))
        #expect(id != MailPushWriter.requestId(registration: registration(token: "t2"), account: mailbox, watermark: mark))
        #expect(id != MailPushWriter.requestId(registration: registration(), account: other, watermark: mark))
        #expect(id != MailPushWriter.requestId(registration: registration(), account: mailbox, watermark: .init(uidValidity: 1, uidNext: 6)))
        #expect(id.hasPrefix("mail-") && id.count == 5 + 32)
    }

    @Test func anOpenedAccountIsCheckedAndNeverPrintsItsSecret() throws {
        let parsed = try account(#"{"host":"imap.example.com","port":143,"tls":"starttls","username":"ada","password":"s3cret-value"}"#)
        #expect(parsed.port == 143 && parsed.tls == .starttls && parsed.mailbox == "INBOX")
        #expect(!"\(parsed)".contains("s3cret-value"))
        #expect(try account(#"{"host":"h","username":"u","xoauth2":"tok"}"#).port == 993)
        for (json, reason) in [
            (#"{"username":"u","password":"p"}"#, "no host"),
            (#"{"host":"h","username":"u"}"#, "exactly one of password and xoauth2"),
            (#"{"host":"h","username":"u","password":"p","xoauth2":"t"}"#, "exactly one"),
            (#"{"host":"h","username":"u","password":"p","port":70000}"#, "port"),
            (#"{"host":"h","username":"u","password":"hidden-pw","tls":"ssl3"}"#, "tls"),
            ("not json hidden-pw", "not JSON"),
        ] {
            let error = #expect(throws: ServiceError.self) { try account(json) }
            #expect(error?.message.contains(reason) == true, "\(json): \(error?.message ?? "")")
            #expect(error?.message.contains("hidden-pw") == false)
            #expect(error?.kind == .permanent)
        }
    }

    @Test func plaintextIsRefusedUnlessAllowedAndOnlyThePingerKeyOpens() throws {
        let key = P256.KeyAgreement.PrivateKey()
        let keys = try MailSealingPrivateKeys([key])
        let sealed = try keys.publicKey.seal(Data(#"{"host":"h","username":"u","password":"p","tls":"none"}"#.utf8), app: "shop")
        #expect(throws: ServiceError.self) { try AccountOpener(keys: keys, allowPlaintext: false).open(sealed, app: "shop") }
        #expect(try AccountOpener(keys: keys, allowPlaintext: true).open(sealed, app: "shop").tls == .none)
        // Another app's name (the associated data) or another key does not open it.
        #expect(throws: ServiceError.self) { try AccountOpener(keys: keys, allowPlaintext: true).open(sealed, app: "other") }
        let stranger = try MailSealingPrivateKeys([P256.KeyAgreement.PrivateKey()])
        #expect(throws: ServiceError.self) { try AccountOpener(keys: stranger, allowPlaintext: true).open(sealed, app: "shop") }
    }

    @Test func onlyInvalidTokensOfMailPushesEndARegistration() {
        func outcome(_ fields: [String: String]) -> [UInt8] {
            JSONWriter.bytes(.object(JSONObject(fields.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.string($0.value)) })))
        }
        let stop = MailFeedbackHandler.stop(for: outcome([
            "rule": "mail", "status": "invalid_token", "sourceMessageId": "reg-1", "app": "shop", "requestId": "mail-x",
        ]))
        #expect(stop?.registrationId == "reg-1" && stop?.app == "shop")
        if case .stop = stop {} else { Issue.record("expected a stop, got \(String(describing: stop))") }
        #expect(MailFeedbackHandler.stop(for: outcome(["rule": "mail", "status": "delivered", "sourceMessageId": "r", "app": "a"])) == nil)
        #expect(MailFeedbackHandler.stop(for: outcome(["rule": "big-order", "status": "invalid_token", "sourceMessageId": "m", "app": "a"])) == nil)
        #expect(MailFeedbackHandler.stop(for: Array("not json".utf8)) == nil)
    }

    @Test func registrationMessagesRoundTrip() throws {
        let register = MailRegistrationMessage.register(registration())
        #expect(try MailRegistrationMessage(json: register.json) == register)
        let pause = MailRegistrationMessage.pause(registrationId: "r1", app: "shop", until: "2026-12-02T10:00:00.000Z", receivedAt: "x")
        #expect(try MailRegistrationMessage(json: pause.json) == pause)
        #expect(throws: ServiceError.self) { try MailRegistrationMessage(json: .object(JSONObject(pairs: [("type", .string("nope"))]))) }
    }
}
