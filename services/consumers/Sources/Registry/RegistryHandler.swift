import BeaconCore
import BeaconKafka

/// The device registry consumer: every event with a push token upserts its device.
struct RegistryHandler: EventHandler {
    let name = "registry"
    let registry: DeviceRegistry

    func handle(_ event: JSONValue, message: KafkaMessage) throws {
        guard let sighting = DeviceSighting(event: event) else { return }
        try registry.upsert(sighting)
    }
}
