import AsyncHTTPClient
import BeaconCore
import Foundation
import NIOSSL

/// The apps the pusher sends for, each with its own APNs and FCM credentials
/// (`apps`, `apns.<app>.*`, `fcm.<app>.*`).
struct PushApps: Sendable {
    let apns: [String: APNsClient]
    let fcm: [String: FCMClient]

    struct Invalid: Error, CustomStringConvertible { let description: String }

    static func load(_ config: ServiceConfig, httpClient: HTTPClient, apnsConfiguration: APNsClientConfiguration) throws -> PushApps {
        var apns: [String: APNsClient] = [:]
        var fcm: [String: FCMClient] = [:]
        for app in config.strings("apps", default: []) {
            if let keyFile = config.optionalString("apns.\(app).keyFile") {
                func required(_ field: String) throws -> String {
                    guard let value = config.optionalString("apns.\(app).\(field)") else {
                        throw Invalid(description: "apns.\(app).\(field) is required when apns.\(app).keyFile is set")
                    }
                    return value
                }
                let environmentName = config.string("apns.\(app).environment", default: "production")
                guard let environment = APNsEnvironment(rawValue: environmentName) else {
                    throw Invalid(description: "apns.\(app).environment must be sandbox or production, not \(environmentName)")
                }
                let credentials = try APNsCredentials(
                    teamId: required("teamId"), keyId: required("keyId"), privateKeyPath: keyFile, topic: required("topic"),
                    environment: environment, endpointOverride: config.optionalString("apns.\(app).endpoint"))
                var configuration = apnsConfiguration
                if let caFile = config.optionalString("apns.\(app).caFile") {
                    // A private CA (test servers, an inspecting proxy) in addition to nothing else.
                    var tls = TLSConfiguration.makeClientConfiguration()
                    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
                    configuration.tlsConfiguration = tls
                }
                apns[app] = APNsClient(credentials: credentials, configuration: configuration)
            }
            if let accountFile = config.optionalString("fcm.\(app).serviceAccountFile") {
                let account = try FCMServiceAccount(contentsOfFile: accountFile)
                var configuration = FCMConfiguration()
                if let endpoint = config.optionalString("fcm.\(app).endpoint") { configuration.endpoint = endpoint }
                configuration.tokenURL = config.optionalString("fcm.\(app).tokenURL")
                fcm[app] = try FCMClient(account: account, httpClient: httpClient, configuration: configuration)
            }
        }
        return PushApps(apns: apns, fcm: fcm)
    }

    func shutdown() async {
        for client in apns.values { try? await client.shutdown() }
    }
}
