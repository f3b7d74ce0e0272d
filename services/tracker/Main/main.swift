import BeaconCore
import TrackerService

await ServiceCommand<Tracker>.start()
