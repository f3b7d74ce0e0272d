import BeaconCore

/// `enrichment.device` from the user agent, through the uap-core parser
/// (which caches, so a repeated user agent costs a lookup).
struct DeviceEnrichment: Sendable {
    let parser: UserAgentParser

    func device(forUserAgent userAgent: String) -> JSONValue {
        let info = parser.parse(userAgent)
        var object: JSONObject = [
            "browserFamily": .string(info.browserFamily),
            "osFamily": .string(info.osFamily),
            "deviceFamily": .string(info.deviceFamily),
            "type": .string(info.type.rawValue),
        ]
        object["browserVersion"] = info.browserVersion.map(JSONValue.string) ?? .null
        object["osVersion"] = info.osVersion.map(JSONValue.string) ?? .null
        object["brand"] = info.brand.map(JSONValue.string) ?? .null
        object["model"] = info.model.map(JSONValue.string) ?? .null
        return .object(object)
    }
}
