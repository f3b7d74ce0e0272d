import BeaconCore
import Foundation

/// The endpoint's URL template: http or https, a fixed host (the allowed
/// hosts are checked against it once, for the whole job), placeholders
/// only in the path, query and fragment, their values percent-encoded.
struct PostbackURL: Sendable {
    static let maxLength = 8_192

    let template: PostbackTemplate
    /// Lowercased, without brackets (IPv6) or port.
    let host: String

    init(_ text: String) throws(PostbackTemplate.Problem) {
        guard text.utf8.count <= Self.maxLength else { throw .init(reason: "url is longer than \(Self.maxLength) bytes") }
        let lowered = text.lowercased()
        guard let scheme = ["https://", "http://"].first(where: { lowered.hasPrefix($0) }) else {
            throw .init(reason: "url must start with https:// or http://")
        }
        let afterScheme = text.dropFirst(scheme.count)
        let authority = afterScheme.prefix { !"/?#".contains($0) }
        // The host is what the allow list vouches for: it must not depend on the data.
        guard !authority.contains("{") && !authority.contains("}") else {
            throw .init(reason: "url has a placeholder in its host; the host must be fixed, placeholders go in the path or query")
        }
        let template = try PostbackTemplate(text, braces: .placeholdersOnly)
        self.template = template
        // Placeholders filled with a harmless value: what is left must be a URL.
        guard let components = URLComponents(string: Self.filled(template)), components.url != nil, let host = components.host, !host.isEmpty
        else {
            throw .init(reason: "url is not a valid URL (https://host/path?x={key})")
        }
        var name = host.lowercased()
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        while name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty else { throw .init(reason: "url has no host") }
        self.host = name
    }

    private static func filled(_ template: PostbackTemplate) -> String {
        template.parts.map { part in
            if case .literal(let text) = part { text } else { "x" }
        }.joined()
    }

    /// The URL for one data object, its values percent-encoded (RFC 3986 unreserved kept).
    func render(_ data: JSONObject) -> String {
        template.render(data, encode: PostbackTemplate.percentEncoded)
    }
}
