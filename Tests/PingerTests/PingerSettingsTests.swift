import BeaconCore
import Testing
@testable import PingerService

@Suite struct PingerSettingsTests {
    func settings(_ environment: [String: String]) async throws -> PingerSettings {
        try PingerSettings(try await SettingsReader(file: nil, environment: environment))
    }

    @Test func theKeyIsRequiredAndTheRestHasDefaults() async throws {
        await #expect(throws: SettingsError.self) { try await settings([:]) }
        let read = try await settings(["BEACON_PINGER_PRIVATE_KEY_FILES": "/k/current.pem,/k/previous.pem"])
        #expect(read.privateKeyFiles == ["/k/current.pem", "/k/previous.pem"])
        #expect(read.mailTopic == "beacon.mail.registrations")
        #expect(read.session.idleRefresh == .seconds(1_500))
        #expect(!read.session.allowPlaintext && !read.session.allowPrivateHosts)
    }

    @Test func idleIsReissuedInsideTwentyNineMinutes() async throws {
        let error = await #expect(throws: SettingsError.self) {
            try await settings(["BEACON_PINGER_PRIVATE_KEY_FILES": "/k", "BEACON_PINGER_IDLE_REFRESH_SECONDS": "1800"])
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("pinger.idleRefreshSeconds"))
    }
}
