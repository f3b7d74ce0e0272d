import ArgumentParser
import BeaconCore
import PusherService

@main
struct PusherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beacon-pusher",
        abstract: "Beacon's pusher: push requests from Kafka to APNs and FCM, outcomes to beacon.push.feedback."
    )

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await PusherApplication.run(options: options)
    }
}
