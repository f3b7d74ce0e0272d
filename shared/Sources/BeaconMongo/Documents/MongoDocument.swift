import BeaconCore
import Foundation

/// A MongoDB document: fields in order (MongoDB keeps it, and it matters for
/// index keys and commands). Built into BSON directly, read back from BSON
/// directly: no JSON text on the way.
public struct MongoDocument: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(key: String, value: MongoValue)]

    public init(_ fields: [(String, MongoValue)] = []) {
        self.fields = fields.map { (key: $0.0, value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, MongoValue)...) {
        self.init(elements)
    }

    /// A JSON object's fields, in order.
    public init(_ object: JSONObject) {
        fields = object.entries.map { (key: $0.key, value: MongoValue($0.value)) }
    }

    public subscript(key: String) -> MongoValue? {
        get { fields.first { $0.key == key }?.value }
        set {
            if let index = fields.firstIndex(where: { $0.key == key }) {
                if let newValue { fields[index].value = newValue } else { fields.remove(at: index) }
            } else if let newValue {
                fields.append((key: key, value: newValue))
            }
        }
    }

    public var isEmpty: Bool { fields.isEmpty }
    public var keys: [String] { fields.map(\.key) }

    public func string(_ key: String) -> String? { self[key]?.stringValue }
    public func int64(_ key: String) -> Int64? { self[key]?.int64Value }
    public func bool(_ key: String) -> Bool? {
        if case .bool(let flag)? = self[key] { return flag }
        return nil
    }
    public func date(_ key: String) -> Date? {
        if case .date(let date)? = self[key] { return date }
        return nil
    }
    public func document(_ key: String) -> MongoDocument? {
        if case .document(let document)? = self[key] { return document }
        return nil
    }

    /// The document as a JSON object (see `MongoValue.json`).
    public var json: JSONValue {
        .object(JSONObject(fields.map { (key: $0.key, value: $0.value.json) }))
    }

    public static func == (lhs: MongoDocument, rhs: MongoDocument) -> Bool {
        lhs.fields.count == rhs.fields.count && zip(lhs.fields, rhs.fields).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
