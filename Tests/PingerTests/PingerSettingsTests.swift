import BeaconCore
import Testing
@testable import PingerService

@Suite struct PingerSettingsTests {
    @Test func defaultsRead() async throws {
        let settings = try PingerSettings(try await SettingsReader(file: nil, environment: [:]))
        #expect(settings.drainTimeout == .seconds(10))
    }
}
