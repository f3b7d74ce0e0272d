// The enricher's `enrichment.device` value: what a user agent says about the
// browser, the operating system and the hardware it runs on.

/// Coarse kind of device a user agent belongs to. See `DeviceTypeClassifier`
/// for the rules.
public enum DeviceType: String, Codable, Sendable, CaseIterable {
    case mobile
    case tablet
    case desktop
    case bot
}

/// The parsed user agent, as stored under `enrichment.device`.
///
/// Field names encode as camelCase (`browserFamily`, `osVersion`, ...). Versions
/// are the uap-core version parts that exist, joined with dots: a browser
/// `major.minor.patch`, an OS `major.minor.patch.patchMinor`; `nil` when the
/// user agent names no version at all.
public struct DeviceInfo: Codable, Sendable, Equatable, Hashable {
    /// uap-core `user_agent` family ("Chrome", "Mobile Safari", "Googlebot"), "Other" when unknown.
    public var browserFamily: String
    public var browserVersion: String?
    /// uap-core `os` family ("iOS", "Android", "Windows"), "Other" when unknown.
    public var osFamily: String
    public var osVersion: String?
    /// uap-core `device` family ("iPhone", "Samsung SM-G960F", "Spider"), "Other" when unknown.
    public var deviceFamily: String
    public var brand: String?
    public var model: String?
    public var type: DeviceType

    public init(
        browserFamily: String = "Other",
        browserVersion: String? = nil,
        osFamily: String = "Other",
        osVersion: String? = nil,
        deviceFamily: String = "Other",
        brand: String? = nil,
        model: String? = nil,
        type: DeviceType = .desktop
    ) {
        self.browserFamily = browserFamily
        self.browserVersion = browserVersion
        self.osFamily = osFamily
        self.osVersion = osVersion
        self.deviceFamily = deviceFamily
        self.brand = brand
        self.model = model
        self.type = type
    }

    /// What an empty or unrecognised user agent yields.
    public static let unknown = DeviceInfo()
}

extension DeviceInfo {
    /// Joins the version parts that exist with dots, stopping at the first
    /// missing one ("10", "10.3", "10.3.1"); `nil` when even the first is missing.
    static func joinVersion(_ parts: String?...) -> String? {
        var joined = ""
        for case let part? in parts.lazy.prefix(while: { $0 != nil }) {
            if !joined.isEmpty { joined += "." }
            joined += part
        }
        return joined.isEmpty ? nil : joined
    }
}
