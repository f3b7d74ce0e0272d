import Foundation

/// The username of an `Authorization: Basic` header: where Segment's SDKs put the write key.
enum BasicAuth {
    static func username(fromHeader header: String?) -> String? {
        guard let header, header.count > 6, header.prefix(6).lowercased() == "basic " else { return nil }
        guard let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let credentials = String(data: data, encoding: .utf8)
        else { return nil }
        let user = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return user.isEmpty ? nil : user
    }
}
