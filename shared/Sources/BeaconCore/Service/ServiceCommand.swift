import ArgumentParser
import Foundation

/// The executable of every Beacon service:
///
///     // services/tracker/Main/main.swift
///     await ServiceCommand<Tracker>.start()
///
/// It reads the flags and the settings (strictly: a bad value stops
/// start-up with its key, value and expected type), sets up logging and
/// metrics, runs the service's parts until SIGTERM or SIGINT, and cleans up.
/// `--help` lists every configuration key with its variable and default.
public struct ServiceCommand<Definition: ServiceDefinition>: AsyncParsableCommand {
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "beacon-\(Definition.name)", abstract: Definition.abstract,
            discussion: SettingsHelp.text(allSettings))
    }

    static var allSettings: [any SettingDescription] { Definition.Settings.settings + LogSettings.all }

    @OptionGroup public var common: ServiceOptions
    @OptionGroup public var options: Definition.Options

    public init() {}

    /// Parses the command line and runs the service; exits with a message
    /// and status 1 when the flags or settings are wrong. (ArgumentParser's
    /// own `main()` picks its synchronous overload from top-level code.)
    public static func start() async {
        do {
            var command = try await asyncParseAsRoot(nil)
            if var service = command as? any AsyncParsableCommand {
                try await service.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    public func run() async throws {
        if common.settingsTable {
            print(SettingsHelp.markdown(service: Definition.name, Self.allSettings))
            return
        }
        let reader = try await SettingsReader(file: common.config)
        let level = try common.logLevel ?? reader(LogSettings.level)
        let format = try common.logFormat ?? reader(LogSettings.format)
        let logger = LoggingSetup.bootstrap(service: Definition.name, level: level, format: format)
        let settings: Definition.Settings
        do {
            settings = try Definition.Settings(reader)
        } catch {
            logger.critical("cannot start: \(error)")
            throw error
        }
        for key in reader.unknownFileKeys(known: Self.allSettings) {
            logger.warning("configuration key \(key) in \(reader.file ?? "") is not read by beacon-\(Definition.name); see --help")
        }
        MetricsSetup.bootstrap()
        let context = ServiceContext(name: Definition.name, logger: logger)
        let ended = await Result {
            let parts = try await Definition.parts(settings, options: options, context: context)
            try await ServiceRunner.run(parts, drainTimeout: settings.drainTimeout, logger: logger)
        }
        await context.runCleanups()
        try ended.get()
    }
}
