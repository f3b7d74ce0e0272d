/// What a GeoIP City database knows about one address, with English names.
///
/// Every field is optional: databases leave out what they do not know (many
/// addresses have a country but no city, some have coordinates only).
public struct GeoLocation: Codable, Sendable, Equatable, Hashable {
    /// ISO 3166-1 alpha-2 code of the country the address is in, e.g. "GB".
    public var countryCode: String?
    /// English name of that country, e.g. "United Kingdom".
    public var countryName: String?
    /// English name of the first (largest) subdivision, e.g. "England".
    public var region: String?
    /// ISO 3166-2 subdivision code without the country prefix, e.g. "ENG".
    public var regionCode: String?
    /// English name of the city, e.g. "London".
    public var city: String?
    public var latitude: Double?
    public var longitude: Double?
    /// IANA time zone, e.g. "Europe/London".
    public var timeZone: String?
    public var postalCode: String?

    public init(
        countryCode: String? = nil, countryName: String? = nil,
        region: String? = nil, regionCode: String? = nil, city: String? = nil,
        latitude: Double? = nil, longitude: Double? = nil,
        timeZone: String? = nil, postalCode: String? = nil
    ) {
        self.countryCode = countryCode
        self.countryName = countryName
        self.region = region
        self.regionCode = regionCode
        self.city = city
        self.latitude = latitude
        self.longitude = longitude
        self.timeZone = timeZone
        self.postalCode = postalCode
    }

    /// True when the database had none of the fields above for the address.
    public var isEmpty: Bool {
        countryCode == nil && countryName == nil && region == nil && regionCode == nil && city == nil
            && latitude == nil && longitude == nil && timeZone == nil && postalCode == nil
    }
}
