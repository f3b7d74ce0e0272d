import BeaconCore

/// A device as the registry returns it: where a push for its user goes.
public struct RegisteredDevice: Sendable, Equatable {
    public var app: String
    public var token: String
    public var platform: PushPlatform
    public var userId: String?
    public var locale: String?

    /// nil for a document that is not a device of a known platform.
    public init?(document: MongoDocument) {
        guard let app = document.string("app"), let token = document.string("token"),
              let platform = document.string("platform").flatMap(PushPlatform.init(rawValue:))
        else { return nil }
        (self.app, self.token, self.platform) = (app, token, platform)
        (userId, locale) = (document.string("userId"), document.string("locale"))
    }
}
