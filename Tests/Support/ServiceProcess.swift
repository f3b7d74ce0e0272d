import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A Beacon service started from the built executables, with its log kept
/// under the test output folder. Tests use real processes so that they can
/// kill -9 them.
public final class ServiceProcess: @unchecked Sendable {
    public let name: String
    public let port: Int
    public let logPath: String
    private let process: Process

    /// Starts `executable` (e.g. "beacon-tracker") with `environment` added to
    /// this process's, and waits until its /healthz answers.
    public init(
        executable: String, name: String, port: Int, config: String? = nil,
        environment: [String: String], waitForHealth: Bool = true
    ) async throws {
        self.name = name
        self.port = port
        let binDir = try TestEnvironment.binDir()
        let outputDir = try TestEnvironment.outputDir() + "/logs"
        try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
        logPath = "\(outputDir)/\(name)-\(port).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()

        process = Process()
        process.executableURL = URL(fileURLWithPath: "\(binDir)/\(executable)")
        var arguments = ["--log-level", "info", "--log-format", "json"]
        if let config { arguments += ["--config", config] }
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["BEACON_HTTP_PORT"] = String(port)
        env["BEACON_HTTP_HOST"] = "127.0.0.1"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        try process.run()
        if waitForHealth {
            try await waitUntilHealthy()
        }
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var isRunning: Bool { process.isRunning }
    public var pid: Int32 { process.processIdentifier }
    /// The exit status, once it exited.
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    public func waitUntilHealthy(timeout: Duration = .seconds(30)) async throws {
        try await Await.condition("\(name) to answer /healthz", timeout: timeout) { [self] in
            guard process.isRunning else {
                throw ServiceFailed(message: "\(name) exited with status \(process.terminationStatus); log:\n\(logTail())")
            }
            return (try? await HTTP.get("\(baseURL)/healthz").status) == 200
        }
    }

    /// SIGKILL: no chance to clean up, as in a crash.
    public func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        // Not waitUntilExit(): off the main thread it spins on a run loop.
        while process.isRunning { usleep(1_000) }
    }

    /// SIGTERM and wait for the exit; returns the exit status.
    @discardableResult
    public func terminate(timeout: Duration = .seconds(20)) async throws -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        try await Await.condition("\(name) to exit after SIGTERM", timeout: timeout) { [self] in !process.isRunning }
        return process.terminationStatus
    }

    /// The JSON log lines at error level or worse (a clean run has none).
    public func errorLines() -> [String] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init).filter { $0.contains(#""level":"error""#) || $0.contains(#""level":"critical""#) }
    }

    /// The JSON log lines that contain `text`.
    public func logLines(containing text: String) -> [String] {
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return log.split(separator: "\n").map(String.init).filter { $0.contains(text) }
    }

    public func logTail(lines: Int = 40) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    deinit {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
    }
}

public struct ServiceFailed: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
