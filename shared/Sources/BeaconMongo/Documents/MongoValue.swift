import BeaconCore
import Foundation

/// One value of a MongoDB document, as Beacon writes and reads them. BSON
/// types Beacon does not use (binary, regex, decimal128, timestamps, code)
/// read back as `.unsupported` with the type's name.
public enum MongoValue: Sendable, Equatable {
    case double(Double)
    case string(String)
    case document(MongoDocument)
    case array([MongoValue])
    case bool(Bool)
    case null
    case int32(Int32)
    case int64(Int64)
    /// A UTC datetime, to the millisecond (BSON's precision).
    case date(Date)
    /// An ObjectId, as its 24 hexadecimal digits.
    case objectId(String)
    case unsupported(String)

    /// A JSON value as a document value: integers as int64, other numbers as doubles.
    public init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .number(let number): self = .double(number)
        case .integer(let number): self = .int64(number)
        case .string(let text): self = .string(text)
        case .array(let values): self = .array(values.map(MongoValue.init))
        case .object(let object): self = .document(MongoDocument(object))
        }
    }

    /// The value as JSON: dates as ISO-8601 text, ObjectIds as their hex.
    public var json: JSONValue {
        switch self {
        case .double(let number): .number(number)
        case .string(let text): .string(text)
        case .document(let document): document.json
        case .array(let values): .array(values.map(\.json))
        case .bool(let flag): .bool(flag)
        case .null: .null
        case .int32(let number): .integer(Int64(number))
        case .int64(let number): .integer(number)
        case .date(let date): .string(Timestamp.iso8601(date))
        case .objectId(let hex): .string(hex)
        case .unsupported(let type): .string("<\(type)>")
        }
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// int32, int64 or a whole double.
    public var int64Value: Int64? {
        switch self {
        case .int32(let number): Int64(number)
        case .int64(let number): number
        case .double(let number): Int64(exactly: number)
        default: nil
        }
    }
}

extension MongoValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int64(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: MongoValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, MongoValue)...) { self = .document(MongoDocument(elements)) }
}
