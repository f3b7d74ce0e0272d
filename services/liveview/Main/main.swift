import BeaconCore
import LiveViewService

await ServiceCommand<LiveView>.start()
