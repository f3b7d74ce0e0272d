import BeaconCore
import Foundation
import Testing

@Suite struct MessageIdTests {
    @Test func isAVersion4UUIDInLowerCase() throws {
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let id = MessageId.random()
            let uuid = try #require(UUID(uuidString: id), "\(id) parses as a UUID")
            #expect(uuid.uuidString.lowercased() == id)
            let bytes = withUnsafeBytes(of: uuid.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4, "version 4: \(id)")
            #expect(bytes[8] >> 6 == 0b10, "RFC 4122 variant: \(id)")
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
    }
}
