import BeaconCore

/// What postback jobs (`POST /v1/postback`) are checked against: the hosts
/// each app may call, and how big a job may be.
struct PostbackSettings: Sendable {
    static let allowedHosts = Setting<[String]>(
        "postback.allowedHosts.<app>", default: [],
        "hosts the app's postbacks may call (api.partner.com, or *.partner.com for any below it); none: postbacks answer 403")
    static let maxObjects = Setting<Int>(
        "postback.maxObjects", default: 1_000, "most data objects (hence requests) in one postback job", check: SettingCheck.positive)
    static let maxBodyBytes = Setting<Int>(
        "postback.maxBodyBytes", default: 1024 * 1024, "largest /v1/postback request body, in bytes (413 above)", check: SettingCheck.positive)
    static let settings: [any SettingDescription] = [WebhookTopics.stream, allowedHosts, maxObjects, maxBodyBytes]

    var hosts: [String: PostbackHosts] = [:]
    var maxObjects = 1_000
    var maxBodyBytes = 1024 * 1024
    var stream = WebhookTopics.defaultStream

    init(hosts: [String: PostbackHosts] = [:], maxObjects: Int = 1_000, maxBodyBytes: Int = 1024 * 1024, stream: String = WebhookTopics.defaultStream) {
        self.hosts = hosts
        self.maxObjects = maxObjects
        self.maxBodyBytes = maxBodyBytes
        self.stream = stream
    }

    init(_ reader: SettingsReader, apps: [String]) throws(SettingsError) {
        stream = try reader(WebhookTopics.stream)
        guard !stream.isEmpty else { throw .invalid(key: WebhookTopics.stream.key, value: "", reason: "must not be empty") }
        for app in apps {
            hosts[app] = PostbackHosts(try reader(Self.allowedHosts.forApp(app)))
        }
        maxObjects = try reader(Self.maxObjects)
        maxBodyBytes = try reader(Self.maxBodyBytes)
    }

    /// The apps that may send postbacks at all (for the start-up log).
    var appsWithHosts: [String] { hosts.filter { !$0.value.isEmpty }.keys.sorted() }

    /// The app's hosts; none for an app without the setting.
    func hosts(for app: String) -> PostbackHosts { hosts[app] ?? PostbackHosts([]) }
}
