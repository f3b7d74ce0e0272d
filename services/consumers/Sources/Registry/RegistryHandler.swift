import BeaconCore
import BeaconKafka
import BeaconMongo

/// The device registry consumer: every event with a push token records a
/// sighting of its device.
struct RegistryHandler: EventHandler {
    let name = "registry"
    let devices: DeviceStore

    func handle(_ event: JSONValue, message: KafkaMessage) throws {
        guard let sighting = DeviceSighting(event: event) else { return }
        try devices.record(sighting)
    }
}
