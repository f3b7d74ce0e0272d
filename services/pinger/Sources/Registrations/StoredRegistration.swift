import BeaconCore
import BeaconMongo
import Foundation

/// A registration as the pinger keeps it in MongoDB, still sealed, with the
/// Kafka partition it arrived on (so the instance that owns the partition
/// finds it) and how far its mailbox has been pushed.
struct StoredRegistration: Sendable, Equatable {
    var registration: MailRegistration
    var partition: Int32
    var expiresAt: Date
    /// No new-mail push before this (the app is in the foreground).
    var pausedUntil: Date?
    var watermark: MailboxWatermark?

    var id: String { registration.registrationId }

    init(registration: MailRegistration, partition: Int32, expiresAt: Date, pausedUntil: Date? = nil, watermark: MailboxWatermark? = nil) {
        self.registration = registration
        self.partition = partition
        self.expiresAt = expiresAt
        self.pausedUntil = pausedUntil
        self.watermark = watermark
    }

    /// The document's registration fields (what a repeated `register` may set again).
    var registrationFields: MongoDocument {
        let r = registration
        return [
            "app": .string(r.app), "partition": .int32(partition), "deviceToken": .string(r.deviceToken),
            "platform": .string(r.platform.rawValue), "sealed": .string(r.sealedAccount), "notification": MongoValue(r.notification.json),
            "expiresAt": .date(expiresAt), "receivedAt": .string(r.receivedAt),
        ]
    }

    init?(document: MongoDocument) {
        guard let id = document.string("_id"), let app = document.string("app"), let token = document.string("deviceToken"),
              let platformName = document.string("platform"), let platform = PushPlatform(rawValue: platformName),
              let sealed = document.string("sealed"), let expiresAt = document.date("expiresAt"),
              let partition = document.int64("partition")
        else { return nil }
        registration = MailRegistration(
            registrationId: id, app: app, deviceToken: token, platform: platform, sealedAccount: sealed,
            notification: MailNotification(json: document["notification"]?.json ?? .null), expiresAt: Timestamp.iso8601(expiresAt),
            receivedAt: document.string("receivedAt") ?? "")
        self.partition = Int32(partition)
        self.expiresAt = expiresAt
        pausedUntil = document.date("pausedUntil")
        if let validity = document.int64("uidValidity"), let next = document.int64("uidNext") {
            watermark = MailboxWatermark(uidValidity: UInt32(truncatingIfNeeded: validity), uidNext: UInt32(truncatingIfNeeded: next))
        }
    }
}
