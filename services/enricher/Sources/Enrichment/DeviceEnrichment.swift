import BeaconCore

/// `enrichment.device` from the user agent, through the uap-core parser.
/// The finished object is cached by user agent, so a repeated user agent
/// costs one lookup (the parser's own cache then only serves the misses).
struct DeviceEnrichment: Sendable {
    let parser: UserAgentParser
    private let cache: LRUCache<JSONValue>

    init(parser: UserAgentParser, cacheSize: Int) {
        self.parser = parser
        cache = LRUCache(capacity: cacheSize)
    }

    func device(forUserAgent userAgent: String) -> JSONValue {
        if let cached = cache.value(for: userAgent) { return cached }
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
        let device = JSONValue.object(object)
        cache.insert(device, for: userAgent)
        return device
    }
}
