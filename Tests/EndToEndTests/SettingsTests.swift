import BeaconTestSupport
import Foundation
import Testing

/// Every service's settings as its executable tells them: `--help` lists
/// every key, the README's table is what the Settings types say, and a
/// malformed value stops start-up with its key, value and type.
@Suite struct ServiceSettingsTests {
    static let services = ["tracker", "enricher", "consumers", "pusher", "liveview", "pinger"]

    /// Runs `beacon-<service>` with `arguments`; its exit status, stdout and stderr.
    static func run(_ service: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(try TestEnvironment.binDir())/beacon-\(service)")
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile(), errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }

    /// The keys of a service's table, as `--settings-table` prints it.
    static func keys(_ table: String) -> [(key: String, variable: String)] {
        table.split(separator: "\n").compactMap { line in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2, cells[0].hasPrefix("`"), cells[1].hasPrefix("`") else { return nil }
            return (cells[0].trimmingCharacters(in: ["`"]), cells[1].trimmingCharacters(in: ["`"]))
        }
    }

    @Test(arguments: services) func helpListsEveryKeyWithItsVariableAndDefault(_ service: String) throws {
        let table = try Self.run(service, ["--settings-table"])
        #expect(table.status == 0)
        let keys = Self.keys(table.out)
        #expect(keys.count >= 6 && keys.contains { $0.key == "http.port" } && keys.contains { $0.key == "log.level" }, "\(table.out)")
        let help = try Self.run(service, ["--help"])
        #expect(help.status == 0)
        let text = help.out.replacingOccurrences(of: "\n", with: " ")
        for (key, variable) in keys {
            #expect(text.contains("\(key)  \(variable)"), "--help of beacon-\(service) does not list \(key) with \(variable)")
        }
    }

    @Test func theReadmeTableIsTheSettingsTypes() throws {
        let readme = try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md").path, encoding: .utf8)
        let begin = try #require(readme.range(of: "<!-- settings:begin -->")), end = try #require(readme.range(of: "<!-- settings:end -->"))
        let documented = readme[begin.upperBound..<end.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        let generated = try Self.services.map { try Self.run($0, ["--settings-table"]).out.trimmingCharacters(in: .whitespacesAndNewlines) }
            .joined(separator: "\n\n")
        #expect(documented == generated, "README.md's configuration tables are stale: run `make settings-table`")
    }

    @Test(arguments: services) func aMalformedValueStopsStartUpNamingIt(_ service: String) throws {
        let result = try Self.run(service, ["--log-format", "json"], environment: ["BEACON_HTTP_PORT": "abc", "BEACON_LIVEVIEW_TOKEN": "t"])
        #expect(result.status != 0)
        #expect(result.err.contains(#"configuration key http.port (BEACON_HTTP_PORT): \"abc\" is not a whole number"#) ||
                result.err.contains(#"configuration key http.port (BEACON_HTTP_PORT): "abc" is not a whole number"#), "\(result.err)")
    }

    @Test func anUnknownLogLevelIsRefused() throws {
        let result = try Self.run("tracker", ["--log-level", "verbose"])
        #expect(result.status != 0)
        #expect(result.err.contains("The value 'verbose' is invalid for '--log-level"), "\(result.err)")
    }
}
