import BeaconCore
import EnricherService

await ServiceCommand<Enricher>.start()
