import ArgumentParser
import BeaconCore
import TrackerService

@main
struct TrackerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beacon-tracker",
        abstract: "Beacon's public intake: the Segment tracking API and a pixel, into a Redis Stream."
    )

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await TrackerApplication.run(options: options)
    }
}
