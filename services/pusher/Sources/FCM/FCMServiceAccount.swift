import BeaconCore
import Foundation
import _CryptoExtras

/// A Google service account, as in the JSON key file that the Firebase console
/// hands out ("Project settings → Service accounts → Generate new private key").
/// Only the fields FCM HTTP v1 needs are kept; the private key is parsed once.
public struct FCMServiceAccount: Sendable {
    /// Where Google's OAuth2 token endpoint lives when the key file does not say.
    public static let defaultTokenURI = "https://oauth2.googleapis.com/token"

    public let projectId: String
    public let clientEmail: String
    /// `private_key_id`: sent as the JWT header's `kid` when present.
    public let privateKeyId: String?
    /// Where the signed assertion is exchanged for an access token; also the JWT's `aud`.
    public let tokenURI: String
    let signingKey: _RSA.Signing.PrivateKey

    public init(
        projectId: String, clientEmail: String, privateKeyPEM: String,
        privateKeyId: String? = nil, tokenURI: String = FCMServiceAccount.defaultTokenURI
    ) throws(FCMServiceAccountError) {
        guard !projectId.isEmpty else { throw .missingField("project_id") }
        guard !clientEmail.isEmpty else { throw .missingField("client_email") }
        guard Self.isHTTPURL(tokenURI) else { throw .invalidTokenURI(tokenURI) }
        do {
            self.signingKey = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw .invalidPrivateKey("\(error)")
        }
        self.projectId = projectId
        self.clientEmail = clientEmail
        self.privateKeyId = privateKeyId
        self.tokenURI = tokenURI
    }

    /// Parses the contents of a service-account key file.
    public init(json bytes: some Collection<UInt8>) throws(FCMServiceAccountError) {
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw .invalidJSON(error.description)
        }
        guard case .object(let object) = document else { throw .notAnObject(document.typeName) }

        func string(_ key: String, required: Bool) throws(FCMServiceAccountError) -> String? {
            guard let value = object[key], !value.isNull else {
                if required { throw .missingField(key) }
                return nil
            }
            guard case .string(let text) = value else { throw .wrongType(field: key, expected: "string", found: value.typeName) }
            if required && text.isEmpty { throw .missingField(key) }
            return text
        }

        if let type = try string("type", required: false), type != "service_account" {
            throw .wrongAccountType(type)
        }
        try self.init(
            projectId: try string("project_id", required: true)!,
            clientEmail: try string("client_email", required: true)!,
            privateKeyPEM: try string("private_key", required: true)!,
            privateKeyId: try string("private_key_id", required: false).flatMap { $0.isEmpty ? nil : $0 },
            tokenURI: try string("token_uri", required: false) ?? FCMServiceAccount.defaultTokenURI
        )
    }

    public init(json text: String) throws(FCMServiceAccountError) {
        try self.init(json: Array(text.utf8))
    }

    /// Reads and parses a service-account key file.
    public init(contentsOfFile path: String) throws(FCMServiceAccountError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        do {
            try self.init(json: data)
        } catch {
            throw error.in(path)
        }
    }

    /// The same account with its token endpoint replaced (for tests and proxies).
    public func withTokenURI(_ tokenURI: String) throws(FCMServiceAccountError) -> FCMServiceAccount {
        guard Self.isHTTPURL(tokenURI) else { throw .invalidTokenURI(tokenURI) }
        return FCMServiceAccount(copying: self, tokenURI: tokenURI)
    }

    private static func isHTTPURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host else { return false }
        return (scheme == "https" || scheme == "http") && !host.isEmpty
    }

    private init(copying other: FCMServiceAccount, tokenURI: String) {
        self.projectId = other.projectId
        self.clientEmail = other.clientEmail
        self.privateKeyId = other.privateKeyId
        self.signingKey = other.signingKey
        self.tokenURI = tokenURI
    }
}

/// Why a service-account key could not be used. Descriptions name the field.
public enum FCMServiceAccountError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case invalidJSON(String)
    case notAnObject(String)
    case missingField(String)
    case wrongType(field: String, expected: String, found: String)
    case wrongAccountType(String)
    case invalidPrivateKey(String)
    case invalidTokenURI(String)
    indirect case inFile(path: String, FCMServiceAccountError)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read service account file \(path): \(reason)"
        case .invalidJSON(let reason): "service account file is not valid JSON: \(reason)"
        case .notAnObject(let type): "service account file must hold a JSON object, found \(type)"
        case .missingField(let field): "service account file lacks \"\(field)\""
        case .wrongType(let field, let expected, let found): "service account field \"\(field)\" must be a \(expected), found \(found)"
        case .wrongAccountType(let type): "service account file has \"type\": \"\(type)\", expected \"service_account\""
        case .invalidPrivateKey(let reason): "service account \"private_key\" is not a usable RSA private key (PEM, 2048 bits or more): \(reason)"
        case .invalidTokenURI(let uri): "service account \"token_uri\" is not an http(s) URL: \(uri)"
        case .inFile(let path, let error): "\(path): \(error.description)"
        }
    }

    /// The underlying error, without the file it was found in.
    public var reason: FCMServiceAccountError {
        if case .inFile(_, let error) = self { return error.reason }
        return self
    }

    func `in`(_ path: String) -> FCMServiceAccountError {
        if case .inFile = self { return self }
        return .inFile(path: path, self)
    }
}

extension FCMServiceAccountError: ClassifiedError {
    /// A service account file that cannot be used stays unusable.
    public var kind: FailureKind { .permanent }
}
