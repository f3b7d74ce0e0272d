import BeaconTestSupport
import Foundation
import NIOCore
import NIOPosix
@testable import PingerService

/// The dovecots that `make test` starts (scripts/dovecot.sh): one with IDLE
/// (plaintext+STARTTLS and implicit TLS), one without IDLE. Users mail01 ..
/// mail60, password "pw-" + user. A test that needs them fails when they are
/// missing (run through `make test`).
enum IMAPTestServers {
    /// Plaintext with STARTTLS, IDLE advertised.
    static func imapPort() throws -> Int { try port("BEACON_TEST_IMAP_PORT") }
    /// Implicit TLS, IDLE advertised.
    static func imapsPort() throws -> Int { try port("BEACON_TEST_IMAPS_PORT") }
    /// Plaintext with STARTTLS, IDLE not advertised.
    static func noIdlePort() throws -> Int { try port("BEACON_TEST_IMAP_NOIDLE_PORT") }
    /// The test CA that signed both servers' certificates.
    static func caFile() throws -> String { try TestEnvironment.value("BEACON_TEST_IMAP_CA_FILE") }
    /// The folder of the IDLE server kept for restarts (for restart()).
    static func dir() throws -> String { try TestEnvironment.value("BEACON_TEST_IMAP_DIR") }

    static func password(_ user: String) -> String { "pw-\(user)" }

    static func endpoint(port: Int, tls: IMAPTLSMode, host: String = "localhost") -> IMAPEndpoint {
        IMAPEndpoint(host: host, address: "127.0.0.1", port: port, tls: tls)
    }

    static func tls() throws -> IMAPTLSSettings { IMAPTLSSettings(extraCAFile: try caFile()) }

    /// Connected and logged in as `user`.
    static func session(_ user: String, port: Int, tls mode: IMAPTLSMode, timeout: Duration = .seconds(10)) async throws -> IMAPConnection {
        let connection = try await IMAPConnection.connect(
            endpoint(port: port, tls: mode), tls: try tls(), on: MultiThreadedEventLoopGroup.singleton,
            timeout: timeout, commandTimeout: timeout)
        do {
            try await connection.login(username: user, password: password(user))
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// Restarts the restart server (every connection to it drops) and returns
    /// once it greets again: `scripts/dovecot.sh restart DIR`.
    static func restart() async throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/dovecot.sh").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, "restart", try dir()]
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { process in
                if process.terminationStatus == 0 {
                    continuation.resume()
                } else {
                    continuation.resume(throwing: RestartFailed(status: process.terminationStatus))
                }
            }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
    }

    struct RestartFailed: Error, CustomStringConvertible {
        let status: Int32
        var description: String { "scripts/dovecot.sh restart exited with \(status)" }
    }

    struct NotAPort: Error, CustomStringConvertible {
        let name: String, value: String
        var description: String { "\(name)=\(value) is not a port number" }
    }

    private static func port(_ name: String) throws -> Int {
        let value = try TestEnvironment.value(name)
        guard let port = Int(value) else { throw NotAPort(name: name, value: value) }
        return port
    }
}
