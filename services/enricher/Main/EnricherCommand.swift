import ArgumentParser
import BeaconCore
import EnricherService

@main
struct EnricherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beacon-enricher",
        abstract: "Reads Beacon's Redis Streams, validates and enriches each event, and produces it to Kafka."
    )

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await EnricherApplication.run(options: options)
    }
}
