import CRdKafka

/// The librdkafka in use at run time (`rd_kafka_version_str`), e.g. "2.6.1".
/// It may differ from the headers the code was built against: the local
/// Tansu broker needs at least 2.2 (see `kafkaLibraryVersionNumber`).
public func kafkaLibraryVersion() -> String {
    String(cString: rd_kafka_version_str())
}

/// The run-time librdkafka version as librdkafka encodes it: 0xMMmmrrxx
/// (major, minor, revision, pre-release), e.g. 0x020200ff for 2.2.0.
public func kafkaLibraryVersionNumber() -> Int32 {
    rd_kafka_version()
}

/// Whether the run-time librdkafka is at least `major.minor`; e.g. a service
/// can refuse to start with 2.0.x, which never connects to Tansu.
public func kafkaLibraryIsAtLeast(major: Int32, minor: Int32) -> Bool {
    let version = kafkaLibraryVersionNumber()
    let runtime = (version >> 24 & 0xff, version >> 16 & 0xff)
    return runtime.0 > major || (runtime.0 == major && runtime.1 >= minor)
}
