import ArgumentParser
import BeaconCore
import LiveViewService

@main
struct LiveViewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beacon-liveview",
        abstract: "Beacon's live view: tail any topic in the browser, filtered on the server."
    )

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await LiveViewApplication.run(options: options)
    }
}
