import Foundation

/// User agent -> browser, OS and device, per uap-core's specification
/// (docs/specification.md) over its regexes.yaml.
///
/// For each of the three rule lists the first regex (in file order) that
/// matches decides; its `*_replacement` templates, with `$1`...`$9` filled from
/// the capture groups, or else the capture groups themselves, give the fields.
/// Results are trimmed; an empty one is nil; a family that comes out empty, or
/// no matching rule at all, gives "Other".
///
/// All regexes are compiled once in `init`. `parse(_:)` remembers its results
/// in a bounded LRU cache shared by all threads, so a repeated user agent costs
/// one dictionary lookup.
public final class UserAgentParser: Sendable {
    public static let defaultRegexesPath = "/usr/share/uap-core/regexes.yaml"

    /// Longer user agents are cut to this many Unicode scalars before parsing
    /// (real ones stay well below 1,000), bounding regex work and cache memory.
    public static let maxUserAgentLength = 2048

    let regexes: UserAgentRegexes
    let cache: UserAgentParseCache

    /// Loads and compiles `regexesPath`. Throws `UserAgentRegexesError` when the
    /// file is missing, is not the expected YAML or holds a regex that does not compile.
    public init(regexesPath: String = UserAgentParser.defaultRegexesPath, cacheCapacity: Int = 10_000) throws {
        regexes = try UserAgentRegexes(path: regexesPath)
        cache = UserAgentParseCache(capacity: cacheCapacity)
    }

    /// Same, from the text of a regexes.yaml (`path` only names it in errors).
    public init(regexesYAML: String, path: String = "<inline>", cacheCapacity: Int = 10_000) throws {
        regexes = try UserAgentRegexes(yaml: regexesYAML, path: path)
        cache = UserAgentParseCache(capacity: cacheCapacity)
    }

    /// Number of rules per list: (user agent, OS, device).
    public var ruleCounts: (userAgent: Int, os: Int, device: Int) {
        (regexes.userAgent.count, regexes.os.count, regexes.device.count)
    }

    // MARK: Full parse

    /// Browser, OS, device and device type of `userAgent`, cached.
    public func parse(_ userAgent: String) -> DeviceInfo {
        let key = Self.truncated(userAgent)
        if let hit = cache.value(for: key) { return hit }
        let info = parseUncached(key)
        cache.insert(info, for: key)
        return info
    }

    /// `parse(_:)` without the cache.
    public func parseUncached(_ userAgent: String) -> DeviceInfo {
        let input = UAMatchInput(Self.truncated(userAgent))
        let browser = parseUserAgent(input)
        let os = parseOS(input)
        let device = parseDevice(input)
        return DeviceInfo(
            browserFamily: browser.family,
            browserVersion: browser.version,
            osFamily: os.family,
            osVersion: os.version,
            deviceFamily: device.family,
            brand: device.brand,
            model: device.model,
            type: DeviceTypeClassifier.classify(userAgent: input.string, os: os, device: device)
        )
    }

    /// Entries currently cached.
    public var cachedCount: Int { cache.count }

    // MARK: The three uap-core parsers, raw fields

    public func parseUserAgent(_ userAgent: String) -> Browser {
        parseUserAgent(UAMatchInput(Self.truncated(userAgent)))
    }

    public func parseOS(_ userAgent: String) -> OperatingSystem {
        parseOS(UAMatchInput(Self.truncated(userAgent)))
    }

    public func parseDevice(_ userAgent: String) -> Device {
        parseDevice(UAMatchInput(Self.truncated(userAgent)))
    }

    func parseUserAgent(_ input: UAMatchInput) -> Browser {
        guard let f = input.firstMatch(in: regexes.userAgent) else { return Browser() }
        return Browser(family: f[0] ?? "Other", major: f[1], minor: f[2], patch: f[3], patchMinor: f[4])
    }

    func parseOS(_ input: UAMatchInput) -> OperatingSystem {
        guard let f = input.firstMatch(in: regexes.os) else { return OperatingSystem() }
        return OperatingSystem(family: f[0] ?? "Other", major: f[1], minor: f[2], patch: f[3], patchMinor: f[4])
    }

    func parseDevice(_ input: UAMatchInput) -> Device {
        guard let f = input.firstMatch(in: regexes.device) else { return Device() }
        return Device(family: f[0] ?? "Other", brand: f[1], model: f[2])
    }

    static func truncated(_ userAgent: String) -> String {
        guard userAgent.utf8.count > maxUserAgentLength else { return userAgent }
        return String(String.UnicodeScalarView(userAgent.unicodeScalars.prefix(maxUserAgentLength)))
    }
}

// MARK: Raw uap-core results

extension UserAgentParser {
    /// uap-core `user_agent`: the browser or client application.
    public struct Browser: Sendable, Equatable, Hashable, Codable {
        public var family: String
        public var major: String?
        public var minor: String?
        public var patch: String?
        public var patchMinor: String?

        public init(family: String = "Other", major: String? = nil, minor: String? = nil,
                    patch: String? = nil, patchMinor: String? = nil) {
            self.family = family
            self.major = major
            self.minor = minor
            self.patch = patch
            self.patchMinor = patchMinor
        }

        /// "major.minor.patch", from the parts that exist.
        public var version: String? { DeviceInfo.joinVersion(major, minor, patch) }
    }

    /// uap-core `os`.
    public struct OperatingSystem: Sendable, Equatable, Hashable, Codable {
        public var family: String
        public var major: String?
        public var minor: String?
        public var patch: String?
        public var patchMinor: String?

        public init(family: String = "Other", major: String? = nil, minor: String? = nil,
                    patch: String? = nil, patchMinor: String? = nil) {
            self.family = family
            self.major = major
            self.minor = minor
            self.patch = patch
            self.patchMinor = patchMinor
        }

        /// "major.minor.patch.patchMinor", from the parts that exist.
        public var version: String? { DeviceInfo.joinVersion(major, minor, patch, patchMinor) }
    }

    /// uap-core `device`.
    public struct Device: Sendable, Equatable, Hashable, Codable {
        public var family: String
        public var brand: String?
        public var model: String?

        public init(family: String = "Other", brand: String? = nil, model: String? = nil) {
            self.family = family
            self.brand = brand
            self.model = model
        }
    }
}
