import ArgumentParser
import BeaconCore
import ConsumersService

@main
struct ConsumersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beacon-consumers",
        abstract: "Beacon's consumers of beacon.events: the device registry, rules (push requests and webhooks) and counters."
    )

    @OptionGroup var options: ServiceOptions

    @Option(name: .long, help: "Run only these consumers (registry, rules, counters), comma-separated; default: consumers.enabled.")
    var only: String?

    func run() async throws {
        let names = only?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
        try await ConsumersApplication.run(options: options, only: names)
    }
}
