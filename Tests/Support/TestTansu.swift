import Foundation

/// A memory-only Tansu broker of a test's own, listening on 127.0.0.1:`port`
/// and advertising `advertisedPort` (its own, or a proxy's in front of it).
/// The binary is `BEACON_TEST_TANSU` if set, else `.deps/bin/tansu` of this
/// checkout (installed by scripts/install-deps.sh).
public final class TestTansu: @unchecked Sendable {
    public struct Missing: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "no Tansu broker at \(path): run scripts/install-deps.sh or set BEACON_TEST_TANSU" }
    }

    public let port: Int
    private let process: Process

    public init(port: Int, advertisedPort: Int? = nil, filePath: String = #filePath) throws {
        self.port = port
        let root = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = ProcessInfo.processInfo.environment["BEACON_TEST_TANSU"] ?? root.appendingPathComponent(".deps/bin/tansu").path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw Missing(path: path) }
        process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [
            "broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url", "tcp://127.0.0.1:\(advertisedPort ?? port)",
            "--storage-engine", "memory://tansu/",
        ]
        var environment = ProcessInfo.processInfo.environment
        for name in ["LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "SCHEMA_REGISTRY", "CLUSTER_ID"] { environment[name] = nil }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// SIGKILL: like a crash, the broker's memory is gone.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning { usleep(1_000) }
    }

    deinit { stop() }
}
