import BeaconCore
import Foundation
import Testing

/// Settings are parsed strictly: a value of the wrong type stops start-up
/// with the key, the value and what was expected, never the default.
@Suite struct SettingsTests {
    static let port = Setting<Int>("http.port", default: 8080, "port", check: SettingCheck.range(1...65535))
    static let flag = Setting<Bool>("pusher.dryRun", default: false, "dry run")
    static let list = Setting<[String]>("tracker.writeKeys", default: ["a:b"], "keys")
    static let name = Setting<String>("redis.consumer", default: nil, "name")
    static let level = Setting<LogLevel>("log.level", default: .info, "level")

    func environment(_ values: [String: String]) async throws -> SettingsReader {
        try await SettingsReader(file: nil, environment: values)
    }

    func yaml(_ text: String) async throws -> SettingsReader {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("settings-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try await SettingsReader(file: path, environment: [:])
    }

    @Test func defaultsWhenNothingIsSet() async throws {
        let reader = try await environment([:])
        #expect(try reader(Self.port) == 8080)
        #expect(try reader(Self.flag) == false)
        #expect(try reader(Self.list) == ["a:b"])
        #expect(try reader.optional(Self.name) == nil)
    }

    @Test func valuesFromTheEnvironment() async throws {
        let reader = try await environment([
            "BEACON_HTTP_PORT": "18080", "BEACON_PUSHER_DRY_RUN": "yes", "BEACON_TRACKER_WRITE_KEYS": "k1:a, k2:b", "BEACON_LOG_LEVEL": "debug",
        ])
        #expect(try reader(Self.port) == 18080)
        #expect(try reader(Self.flag) == true)
        #expect(try reader(Self.list) == ["k1:a", "k2:b"])
        #expect(try reader(Self.level) == .debug)
    }

    @Test func aWrongTypeIsAnErrorNamingKeyValueAndType() async throws {
        let reader = try await environment(["BEACON_HTTP_PORT": "abc", "BEACON_PUSHER_DRY_RUN": "maybe", "BEACON_LOG_LEVEL": "verbose"])
        #expect(throws: SettingsError.wrongType(key: "http.port", value: "abc", expected: "a whole number")) { try reader(Self.port) }
        #expect(throws: SettingsError.wrongType(key: "pusher.dryRun", value: "maybe", expected: "true or false")) { try reader(Self.flag) }
        let error = #expect(throws: SettingsError.self) { try reader(Self.level) }
        #expect(error?.description.contains("\"verbose\" is not one of trace, debug, info, notice, warning, error, critical") == true)
        let port = #expect(throws: SettingsError.self) { try reader(Self.port) }
        #expect(port?.description == #"configuration key http.port (BEACON_HTTP_PORT): "abc" is not a whole number"#)
    }

    @Test func checksRefuseValuesOutOfRange() async throws {
        let reader = try await environment(["BEACON_HTTP_PORT": "70000"])
        #expect(throws: SettingsError.invalid(key: "http.port", value: "70000", reason: "must be from 1 to 65535")) { try reader(Self.port) }
    }

    @Test func yamlValuesAreParsedAsStrictly() async throws {
        let reader = try await yaml("""
            http:
              port: 8181
            pusher:
              dryRun: nope
            tracker:
              writeKeys: [k:a, l:b]
            redis:
              consumer: [one, two]
            """)
        #expect(try reader(Self.port) == 8181)
        #expect(throws: SettingsError.wrongType(key: "pusher.dryRun", value: "nope", expected: "true or false")) { try reader(Self.flag) }
        #expect(try reader(Self.list) == ["k:a", "l:b"])
        let error = #expect(throws: SettingsError.self) { try reader(Self.name) }
        #expect(error?.description.contains("a single value") == true)
    }

    @Test func theEnvironmentWinsOverTheFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("settings-\(UUID().uuidString).yaml").path
        try "http:\n  port: 8181\n".write(toFile: path, atomically: true, encoding: .utf8)
        let reader = try await SettingsReader(file: path, environment: ["BEACON_HTTP_PORT": "9191"])
        #expect(try reader(Self.port) == 9191)
    }

    @Test func aMissingFileIsAnError() async {
        await #expect(throws: SettingsError.file(path: "/no/such/file.yaml", reason: "does not exist")) {
            _ = try await SettingsReader(file: "/no/such/file.yaml", environment: [:])
        }
    }

    @Test func requiredKeysWithoutAValueAreMissing() async throws {
        let token = Setting<String>("liveview.token", default: nil, "the token", required: true, secret: true)
        let reader = try await environment(["BEACON_LIVEVIEW_TOKEN": ""])
        #expect(throws: SettingsError.missing(key: "liveview.token", reason: "the token")) { try reader(token) }
    }

    @Test func unknownFileKeysAreFound() async throws {
        let reader = try await yaml("""
            http:
              port: 8181
              hots: x
            apns:
              demo:
                keyFile: /k.p8
                keyFiel: /k.p8
            kafka:
              drainTimeoutMs: 1
            """)
        let known: [any SettingDescription] = [Self.port, Setting<String>("apns.<app>.keyFile", default: nil, "key")]
        #expect(reader.unknownFileKeys(known: known).sorted() == ["apns.demo.keyFiel", "http.hots", "kafka.drainTimeoutMs"])
    }

    @Test func environmentVariableNames() {
        #expect(Self.port.environmentVariable == "BEACON_HTTP_PORT")
        #expect(Setting<Int>("redis.claimIdleMs", default: 1, "").environmentVariable == "BEACON_REDIS_CLAIM_IDLE_MS")
        #expect(Setting<String>("apns.<app>.keyFile", default: nil, "").environmentVariable == "BEACON_APNS_<APP>_KEY_FILE")
        #expect(Setting<String>("fcm.<app>.tokenURL", default: nil, "").environmentVariable == "BEACON_FCM_<APP>_TOKEN_URL")
        #expect(Setting<String>("apns.<app>.keyFile", default: nil, "").forApp("demo").key == "apns.demo.keyFile")
    }

    @Test func helpAndTableListEveryKeyWithItsDefault() {
        let settings: [any SettingDescription] = [Self.port, Self.name, Setting<String>("liveview.token", default: "s3cret", "t", secret: true)]
        let text = SettingsHelp.text(settings)
        #expect(text.contains("http.port  BEACON_HTTP_PORT  8080"))
        #expect(text.contains("redis.consumer  BEACON_REDIS_CONSUMER  (none)"))
        #expect(!text.contains("s3cret"))
        let table = SettingsHelp.markdown(service: "x", settings)
        #expect(table.contains("| `http.port` | `BEACON_HTTP_PORT` | `8080` | port |"))
    }
}
