import BeaconCore
import BeaconGeoIP

/// `enrichment.geo` from the client address. Private and reserved addresses
/// are not in the database and get no geo, which is not an error.
struct GeoEnrichment: Sendable {
    let database: GeoIPDatabase

    func geo(forIP ip: String) -> JSONValue? {
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
