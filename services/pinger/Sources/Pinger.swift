import BeaconCore
import Hummingbird
import ServiceLifecycle

/// The pinger: mail registrations from Kafka, one IMAP session per mailbox
/// of the partitions this instance owns, new mail as push requests.
public enum Pinger: ServiceDefinition {
    public static let name = "pinger"
    public static let abstract = "Beacon's mail pinger: watches registered mailboxes with IMAP IDLE (or polling) and pushes on new mail."

    public static func parts(_ settings: PingerSettings, options: NoOptions, context: ServiceContext) async throws -> [any Service] {
        let router = Router()
        OperationalRoutes.add(to: router, readiness: context.readiness)
        let http = Application(router: router, configuration: settings.http, logger: context.logger)
        return [http]
    }
}
