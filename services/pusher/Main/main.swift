import BeaconCore
import PusherService

await ServiceCommand<Pusher>.start()
