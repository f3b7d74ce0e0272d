import BeaconCore
import BeaconKafka

/// Produces push requests to their platform's topic, keyed by token, and
/// returns once Kafka confirmed every one (the event's offset moves on only
/// then).
struct PushRequestWriter: Sendable {
    let sender: KafkaSender
    let topics: [PushPlatform: String]

    func write(_ requests: [PushRequest]) throws(KafkaError) {
        try sender.sendAndWait(requests.map { request in
            OutgoingMessage(topic: topics[request.platform] ?? request.platform.topic, key: request.token, value: JSONWriter.bytes(request.json))
        })
    }
}
