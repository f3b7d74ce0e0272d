import BeaconCore

/// Text with `{key}` placeholders (`{a.b}` reaches into nested objects,
/// `{items.0}` into arrays), filled from one data object. A missing key
/// fills in as empty: a partner's optional parameter is left blank rather
/// than the whole job refused.
struct PostbackTemplate: Sendable, Equatable {
    enum Part: Sendable, Equatable {
        case literal(String)
        case placeholder([String])
    }

    /// How strictly a `{` is read. URLs cannot hold a literal brace, so
    /// there every `{` opens a placeholder; a body is often JSON, so there
    /// only `{name}` is one and any other brace is text.
    enum Braces {
        case placeholdersOnly, jsonFriendly
    }

    /// Why a template cannot be read; `PostbackJob` names the field.
    struct Problem: Error, Equatable {
        let reason: String
    }

    let parts: [Part]

    init(_ text: String, braces: Braces) throws(Problem) {
        var parts: [Part] = []
        var literal = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "}" && braces == .placeholdersOnly {
                throw Problem(reason: "a } without its {")
            }
            guard character == "{" else {
                literal.append(character)
                index = text.index(after: index)
                continue
            }
            let nameStart = text.index(after: index)
            var nameEnd = nameStart
            while nameEnd < text.endIndex, Self.isNameCharacter(text[nameEnd]) { nameEnd = text.index(after: nameEnd) }
            let closed = nameEnd < text.endIndex && text[nameEnd] == "}"
            if !closed || (nameEnd == nameStart && braces == .jsonFriendly) {
                // `{"a": 1}` in a JSON body is text; `{name` running out, or `{` in a URL, is a mistake.
                if braces == .placeholdersOnly || (nameEnd > nameStart && nameEnd == text.endIndex) {
                    throw Problem(reason: "a { at character \(text.distance(from: text.startIndex, to: index)) is not closed by } after a key name (letters, digits, _ - and . only)")
                }
                literal.append(character)
                index = nameStart
                continue
            }
            let path = text[nameStart..<nameEnd].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard nameEnd > nameStart, !path.contains(where: \.isEmpty) else {
                throw Problem(reason: "{\(text[nameStart..<nameEnd].prefix(64))} is not a key name (a, a.b)")
            }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = ""
            parts.append(.placeholder(path))
            index = text.index(after: nameEnd)
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
    }

    private static func isNameCharacter(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue else { return false }
        return (ascii >= 0x30 && ascii <= 0x39) || (ascii | 0x20 >= 0x61 && ascii | 0x20 <= 0x7A) || ascii == 0x5F || ascii == 0x2D || ascii == 0x2E
    }

    /// The text with every placeholder replaced by `encode` of its value.
    func render(_ data: JSONObject, encode: (String) -> String = { $0 }) -> String {
        var output = ""
        for part in parts {
            switch part {
            case .literal(let text): output += text
            case .placeholder(let path): output += encode(Self.text(of: Self.value(at: path, in: data)))
            }
        }
        return output
    }

    static func value(at path: [String], in data: JSONObject) -> JSONValue? {
        var current: JSONValue = .object(data)
        for key in path {
            switch current {
            case .object(let object):
                guard let next = object[key] else { return nil }
                current = next
            case .array(let items):
                guard let position = Int(key), items.indices.contains(position) else { return nil }
                current = items[position]
            default: return nil
            }
        }
        return current
    }

    /// Strings as they are, null and missing as nothing, the rest as JSON.
    static func text(of value: JSONValue?) -> String {
        switch value {
        case nil, .null?: ""
        case .string(let text)?: text
        case let value?: JSONWriter.string(value)
        }
    }

    /// RFC 3986 percent-encoding: only unreserved characters are kept.
    static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
