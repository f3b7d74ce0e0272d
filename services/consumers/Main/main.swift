import BeaconCore
import ConsumersService

await ServiceCommand<Consumers>.start()
