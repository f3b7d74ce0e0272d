import BeaconCore
import BeaconKafka
import BeaconMongo
import Foundation
import Logging

/// Applies `beacon.mail.registrations` to MongoDB and to this instance's
/// sessions, one message at a time in partition order: a registration is
/// stored (sealed) with its partition and watched, a defer pauses it, a stop
/// ends it. The offset is stored only once MongoDB has the change, so a
/// crash replays it (each change is idempotent).
struct RegistrationConsumer: KafkaMessageHandler {
    let store: RegistrationStore
    let supervisor: SessionSupervisor
    let loader: PartitionLoader
    let metrics: PingerMetrics
    let mongoReady: ReadinessCondition
    let logger: Logger

    func handle(_ message: KafkaMessage, from consumer: KafkaConsumer, control: LoopControl) {
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        while !control.isStopping {
            do {
                try apply(message)
                mongoReady.ready()
                break
            } catch {
                mongoReady.notReady("\(error)")
                logger.warning("could not apply a mail registration; retrying", metadata: ["error": "\(error)"])
                backoff.wait(control)
            }
        }
        guard !control.isStopping else { return }  // not stored: the next owner applies it again
        do {
            try consumer.storeOffset(message)
        } catch {
            logger.warning("could not store the offset", metadata: ["error": "\(error)"])
        }
    }

    func assignmentChanged(_ change: AssignmentChange) {
        switch change {
        case .assigned(let partitions):
            let numbers = partitions.map(\.partition)
            supervisor.assigned(numbers)
            loader.load(numbers)
            logger.info("mail partitions assigned", metadata: ["partitions": "\(numbers.sorted())"])
        case .revoked(let partitions):
            let numbers = partitions.map(\.partition)
            loader.cancel(numbers)
            supervisor.revoked(numbers)
            logger.info("mail partitions revoked", metadata: ["partitions": "\(numbers.sorted())"])
        }
    }

    /// Throws only what a retry may cure (MongoDB away); a message that is
    /// not a registration change is counted, logged and skipped.
    private func apply(_ message: KafkaMessage) throws(MongoError) {
        let change: MailRegistrationMessage
        do {
            change = try MailRegistrationMessage(json: try JSONParser.parse(message.value))
        } catch {
            metrics.registration(type: "invalid")
            logger.warning("skipping a message that is not a mail registration change", metadata: [
                "partition": "\(message.partition)", "offset": "\(message.offset)", "error": "\(error)",
            ])
            return
        }
        switch change {
        case .register(let registration):
            metrics.registration(type: "register")
            guard let expiresAt = Timestamp.parse(registration.expiresAt), expiresAt > Date() else {
                logger.info("skipping an expired registration", metadata: ["registrationId": "\(registration.registrationId)"])
                return
            }
            try store.save(StoredRegistration(registration: registration, partition: message.partition, expiresAt: expiresAt))
            // Read back: a registration seen again (after a restart or a
            // rebalance) keeps how far its mailbox was pushed, and its pause.
            if let stored = try store.find(registration.registrationId) {
                supervisor.start(stored, loaded: false)
            }
            logger.info("mail registration", metadata: [
                "registrationId": "\(registration.registrationId)", "partition": "\(message.partition)",
                "owned": "\(supervisor.owns(message.partition))",
            ])
        case .pause(let id, _, let until, _):
            metrics.registration(type: "defer")
            let date = Timestamp.parse(until)
            _ = try store.pause(id, until: date)
            supervisor.pause(id, until: date)
        case .stop(let id, _, _):
            metrics.registration(type: "stop")
            try store.remove(id)
            supervisor.stop(id)
        }
    }
}
