/// The hosts an app's postbacks may call (`postback.allowedHosts.<app>`):
/// exact names, or `*.example.com` for any name under example.com (not
/// example.com itself). An app without any may send no postbacks.
struct PostbackHosts: Sendable, Equatable {
    private let exact: Set<String>
    /// `.example.com` for `*.example.com`.
    private let suffixes: [String]

    init(_ entries: [String]) {
        var exact: Set<String> = [], suffixes: [String] = []
        for entry in entries {
            var name = entry.lowercased()
            while name.hasSuffix(".") { name.removeLast() }
            if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
            if name.hasPrefix("*.") { suffixes.append(String(name.dropFirst())) } else if !name.isEmpty { exact.insert(name) }
        }
        self.exact = exact
        self.suffixes = suffixes
    }

    var isEmpty: Bool { exact.isEmpty && suffixes.isEmpty }

    /// `host` as `PostbackURL` gives it: lowercased, no brackets, no port.
    func allows(_ host: String) -> Bool {
        exact.contains(host) || suffixes.contains { host.hasSuffix($0) && host.count > $0.count }
    }
}
