import ArgumentParser
import BeaconTestSupport
import Crypto
import Foundation

/// `beacon-bench apns-standin`: the tests' APNs stand-in (HTTP/2 over TLS,
/// provider tokens verified) as a process, for the pusher benchmark and for
/// h2load against the same server. Writes into `--dir`: `port`, `ca.pem`,
/// `key.p8` (the team key the pusher signs with) and `jwt` (a provider token
/// for h2load). On SIGTERM or SIGINT it prints its counters as JSON and exits.
struct APNsStandInCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apns-standin",
        abstract: "Run the APNs stand-in until SIGTERM; print its counters on exit."
    )

    @Option(help: "Folder for port, ca.pem, key.p8 and jwt.") var dir: String
    @Option(help: "The app's bundle id (apns-topic).") var topic = "com.example.bench"
    @Option(help: "SETTINGS_MAX_CONCURRENT_STREAMS offered to clients.") var maxStreams = 1_000
    static let teamId = "TEAM123456"
    static let keyId = "KEY1234567"

    func run() async throws {
        let key = P256.Signing.PrivateKey()
        let server = try await APNsTestServer.start(
            teamId: Self.teamId, keyId: Self.keyId, publicKey: key.publicKey, topic: topic,
            maxConcurrentStreams: maxStreams, keepRequests: false
        )
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try key.pemRepresentation.write(toFile: "\(dir)/key.p8", atomically: true, encoding: .utf8)
        try server.caPEM.write(toFile: "\(dir)/ca.pem", atomically: true, encoding: .utf8)
        try Self.providerToken(key: key).write(toFile: "\(dir)/jwt", atomically: true, encoding: .utf8)
        // Written last: its presence says the others are complete.
        try "\(server.port)\n".write(toFile: "\(dir)/port", atomically: true, encoding: .utf8)

        await Self.waitForTermination()
        let counters = server.counters
        try await server.shutdown()
        let result: [String: Any] = [
            "requests": counters.requests, "delivered": counters.delivered, "rejected": counters.rejected,
            "connections": counters.connectionsAccepted, "peak_open_streams": counters.peakOpenStreams,
        ]
        FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// An ES256 provider token as Apple specifies it: header `alg`, `kid`;
    /// claims `iss` (team) and `iat`.
    static func providerToken(key: P256.Signing.PrivateKey) throws -> String {
        func base64URL(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let header = base64URL(Data(#"{"alg":"ES256","kid":"\#(keyId)"}"#.utf8))
        let claims = base64URL(Data(#"{"iss":"\#(teamId)","iat":\#(Int(Date().timeIntervalSince1970))}"#.utf8))
        let signature = try key.signature(for: Data("\(header).\(claims)".utf8))
        return "\(header).\(claims).\(base64URL(signature.rawRepresentation))"
    }

    static func waitForTermination() async {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let sources = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .main) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = OnceFlag()
            for source in sources {
                source.setEventHandler { if once.claim() { continuation.resume() } }
                source.resume()
            }
        }
        sources.forEach { $0.cancel() }
    }
}

import Synchronization

/// True for the first caller only.
final class OnceFlag: Sendable {
    private let taken = Atomic<Bool>(false)
    func claim() -> Bool { !taken.exchange(true, ordering: .acquiringAndReleasing) }
}
