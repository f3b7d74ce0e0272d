import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A small HTTP client for tests (URLSession underneath).
public enum HTTP {
    public struct Reply: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: Data
        public var text: String { String(decoding: body, as: UTF8.self) }
        public func json() throws -> [String: Any] {
            (try JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:]
        }
        public func header(_ name: String) -> String? {
            headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.httpMaximumConnectionsPerHost = 16
        return URLSession(configuration: configuration)
    }()

    public static func get(_ url: String, headers: [String: String] = [:]) async throws -> Reply {
        try await send("GET", url, body: nil, headers: headers)
    }

    public static func post(_ url: String, body: Data, headers: [String: String] = [:]) async throws -> Reply {
        try await send("POST", url, body: body, headers: headers)
    }

    public static func basicAuth(_ user: String) -> String {
        "Basic " + Data("\(user):".utf8).base64EncodedString()
    }

    /// POST JSON with the write key as the HTTP Basic username, as Segment's SDKs do.
    public static func postJSON(_ url: String, json: Any, writeKey: String?) async throws -> Reply {
        var headers = ["Content-Type": "application/json"]
        if let writeKey { headers["Authorization"] = "Basic " + Data("\(writeKey):".utf8).base64EncodedString() }
        return try await post(url, body: try JSONSerialization.data(withJSONObject: json), headers: headers)
    }

    public static func send(_ method: String, _ url: String, body: Data?, headers: [String: String]) async throws -> Reply {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields { fields["\(key)"] = "\(value)" }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }
}
