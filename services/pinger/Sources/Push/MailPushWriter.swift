import BeaconCore
import BeaconKafka
import Crypto
import Foundation

/// Turns new mail (and a failed login) into typed push requests on the
/// platform's push topic, and returns once Kafka confirmed them: a mailbox's
/// watermark moves only after its push is safely on the topic.
struct MailPushWriter: Sendable {
    /// What the push requests say where they came from; the pinger's
    /// feedback handler recognises its own outcomes by it.
    static let rule = "mail"

    let sender: KafkaSender
    let topics: [PushPlatform: String]
    let metrics: PingerMetrics

    /// One push for the mail that moved `account`'s mailbox to `watermark`.
    /// Its request id depends only on the device, the mailbox and the
    /// watermark, so a pinger that pushes it again after a crash sends the
    /// same id (the pusher and the app can recognise it).
    func newMail(_ registration: MailRegistration, account: MailAccount, watermark: MailboxWatermark, count: Int) async throws(KafkaError) {
        let requestId = Self.requestId(registration: registration, account: account, watermark: watermark)
        var data = ["beacon": "mail", "registrationId": registration.registrationId]
        if registration.notification.count { data["count"] = String(count) }
        let notification = PushNotification(
            body: registration.notification.silent ? nil : registration.notification.alert, data: data,
            sound: registration.notification.silent ? nil : "default",
            collapseKey: "mail-\(registration.registrationId)", priority: registration.notification.silent ? .normal : .high)
        try await send(registration, requestId: requestId, notification: notification)
        metrics.pushRequest(kind: "new_mail")
    }

    /// A silent push that tells the app to register the mailbox again (its
    /// login failed, or its registration could not be used).
    func reregister(_ registration: MailRegistration, reason: String) async throws(KafkaError) {
        let notification = PushNotification(
            data: ["beacon": "mail.reregister", "registrationId": registration.registrationId, "reason": reason], priority: .normal)
        try await send(registration, requestId: "mail-reregister-" + registration.registrationId, notification: notification)
        metrics.pushRequest(kind: "reregister")
    }

    private func send(_ registration: MailRegistration, requestId: String, notification: PushNotification) async throws(KafkaError) {
        let request = PushRequest(
            requestId: requestId, app: registration.app, platform: registration.platform, token: registration.deviceToken,
            sourceMessageId: registration.registrationId, rule: Self.rule, notification: notification,
            createdAt: Timestamp.iso8601(Date()))
        let topic = topics[registration.platform] ?? registration.platform.topic
        try await sender.send(OutgoingMessage(topic: topic, key: registration.deviceToken, value: JSONWriter.bytes(request.json)))
    }

    static func requestId(registration: MailRegistration, account: MailAccount, watermark: MailboxWatermark) -> String {
        let text = [registration.app, registration.deviceToken, account.identity, String(watermark.uidValidity), String(watermark.uidNext)]
            .joined(separator: "\n")
        let digest = SHA256.hash(data: Data(text.utf8)).prefix(16)
        return "mail-" + digest.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
