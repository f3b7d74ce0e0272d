import Foundation

/// Where the real servers that `make test` started can be reached.
/// `scripts/test.sh` exports these; a test run without them fails loudly
/// instead of skipping, so a green run always means the real parts were used.
public enum TestEnvironment {
    public struct Missing: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "\(name) is not set: run the tests through `make test`, which starts the servers" }
    }

    public static func value(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw Missing(name: name) }
        return value
    }

    /// redis://127.0.0.1:PORT
    public static func redisURL() throws -> String { try value("BEACON_TEST_REDIS_URL") }
    /// host:port of the Kafka-protocol broker (Tansu).
    public static func kafkaBrokers() throws -> String { try value("BEACON_TEST_KAFKA_BROKERS") }
    /// mongodb://127.0.0.1:PORT of the MongoDB-wire server.
    public static func mongoURL() throws -> String { try value("BEACON_TEST_MONGO_URL") }
    /// A small MaxMind City database written by Tests/Fixtures/make_test_geoip.py.
    public static func geoipDatabase() throws -> String { try value("BEACON_TEST_GEOIP_DB") }
    /// Folder with the built executables (beacon-tracker, beacon-enricher, beacon-liveview).
    public static func binDir() throws -> String { try value("BEACON_TEST_BIN_DIR") }
    /// Path of the headless browser.
    public static func chromium() throws -> String { try value("BEACON_TEST_CHROMIUM") }
    /// Folder where tests keep artefacts (screenshots, logs).
    public static func outputDir() throws -> String { try value("BEACON_TEST_OUTPUT_DIR") }
}

extension TestEnvironment {
    /// The Tansu binary, for tests that need a Kafka broker of their own.
    public static func tansu() throws -> String { try value("BEACON_TEST_TANSU") }
}
