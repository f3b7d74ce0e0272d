import BeaconCore
import BeaconGeoIP

/// `enrichment.geo` from the client address. Private and reserved addresses
/// are not in the database and get no geo, which is not an error. Results,
/// misses included, are cached by address: one visitor sends many events,
/// and a lookup walks the database nine times (one per field).
struct GeoEnrichment: Sendable {
    let database: GeoIPDatabase
    private let cache: LRUCache<Cached>

    private struct Cached: Sendable { let geo: JSONValue? }

    init(database: GeoIPDatabase, cacheSize: Int) {
        self.database = database
        cache = LRUCache(capacity: cacheSize)
    }

    func geo(forIP ip: String) -> JSONValue? {
        if let cached = cache.value(for: ip) { return cached.geo }
        let geo = lookup(ip)
        cache.insert(Cached(geo: geo), for: ip)
        return geo
    }

    private func lookup(_ ip: String) -> JSONValue? {
        guard let location = try? database.lookup(ip) else { return nil }
        var object = JSONObject()
        if let value = location.countryCode { object["countryCode"] = .string(value) }
        if let value = location.countryName { object["countryName"] = .string(value) }
        if let value = location.region { object["region"] = .string(value) }
        if let value = location.regionCode { object["regionCode"] = .string(value) }
        if let value = location.city { object["city"] = .string(value) }
        if let value = location.postalCode { object["postalCode"] = .string(value) }
        if let value = location.latitude { object["latitude"] = .number(value) }
        if let value = location.longitude { object["longitude"] = .number(value) }
        if let value = location.timeZone { object["timeZone"] = .string(value) }
        return object.isEmpty ? nil : .object(object)
    }
}
