import BeaconCore
import BeaconKafka

/// Produces the webhook requests of a rule's actions to `beacon.webhooks`,
/// keyed by id, and returns once Kafka confirmed them: the delivery worker
/// calls the partner, so the rules' partitions never wait for one.
struct WebhookRequestWriter: Sendable {
    let sender: KafkaSender
    let topic: String

    func write(_ requests: [WebhookRequest]) throws(KafkaError) {
        try sender.sendAndWait(requests.map { request in
            OutgoingMessage(topic: topic, key: request.id, value: JSONWriter.bytes(request.json))
        })
    }
}
