import BeaconCore
import PingerService

await ServiceCommand<Pinger>.start()
