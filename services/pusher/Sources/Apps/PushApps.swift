import AsyncHTTPClient
import BeaconCore
import Foundation
import NIOSSL

/// The apps the pusher sends for, each with its own APNs and FCM clients.
struct PushApps: Sendable {
    let apns: [String: APNsClient]
    let fcm: [String: FCMClient]

    /// Reads every app's credential files and makes its clients; a file that
    /// cannot be used stops start-up with a permanent error naming it.
    static func load(_ settings: PusherSettings, httpClient: HTTPClient) throws -> PushApps {
        var apns: [String: APNsClient] = [:]
        var fcm: [String: FCMClient] = [:]
        for (app, credentials) in settings.apns {
            let signing = try APNsCredentials(
                teamId: credentials.teamId, keyId: credentials.keyId, privateKeyPath: credentials.keyFile, topic: credentials.topic,
                environment: credentials.environment, endpointOverride: credentials.endpoint)
            var configuration = APNsClientConfiguration(connections: settings.apnsConnections, retry: settings.retry)
            if let caFile = credentials.caFile {
                // A private CA (test servers, an inspecting proxy) instead of the system's roots.
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
                configuration.tlsConfiguration = tls
            }
            apns[app] = APNsClient(credentials: signing, configuration: configuration)
        }
        for (app, credentials) in settings.fcm {
            let account = try FCMServiceAccount(contentsOfFile: credentials.serviceAccountFile)
            var configuration = FCMConfiguration()
            if let endpoint = credentials.endpoint { configuration.endpoint = endpoint }
            configuration.tokenURL = credentials.tokenURL
            fcm[app] = try FCMClient(account: account, httpClient: httpClient, configuration: configuration)
        }
        return PushApps(apns: apns, fcm: fcm)
    }

    func shutdown() async {
        for client in apns.values { try? await client.shutdown() }
    }
}
