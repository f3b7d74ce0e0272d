import CMongoc
import Foundation

/// Owns one `bson_t`: how a `MongoDocument` reaches libmongoc, and how
/// libmongoc's replies come back. Internal.
///
/// libbson declares `bson_t` and `bson_iter_t` 128-byte aligned, more than
/// Swift can lay out, so Swift imports them as opaque types (`OpaquePointer`)
/// and cannot put them on its stack. They live in memory allocated here with
/// libbson's size and alignment; a `bson_t` must stay at one address anyway
/// (a grown one points into itself). The document is always initialised, so
/// `deinit` can `bson_destroy` it.
final class BSONDocument {
    /// sizeof(bson_t), static-asserted in bson-types.h; _Alignof is 128.
    private static let documentSize = 128
    /// sizeof(bson_iter_t) is 80 with libbson 1.23 on 64-bit; leave room.
    private static let iteratorSize = 256
    private static let alignment = 128

    let pointer: OpaquePointer

    private static func allocate() -> OpaquePointer {
        OpaquePointer(UnsafeMutableRawPointer.allocate(byteCount: documentSize, alignment: alignment))
    }

    /// An empty document; also what C functions with a `bson_t *reply`
    /// out-parameter are given (they re-initialise it).
    init() {
        pointer = Self.allocate()
        bson_init(pointer)
    }

    /// The BSON of `document`, field by field. Throws (permanently) for what
    /// BSON cannot hold: a key with a NUL, an ObjectId that is not 24 hex
    /// digits, a document over BSON's size limit.
    convenience init(_ document: MongoDocument) throws(MongoError) {
        self.init()
        for field in document.fields { try append(field.key, field.value) }
    }

    /// A copy of a document owned by someone else (e.g. a cursor).
    init(copying other: OpaquePointer) {
        pointer = Self.allocate()
        bson_copy_to(other, pointer)
    }

    deinit {
        bson_destroy(pointer)
        UnsafeMutableRawPointer(pointer).deallocate()
    }

    var isEmpty: Bool { bson_count_keys(pointer) == 0 }

    // MARK: Building

    func append(_ key: String, _ value: MongoValue) throws(MongoError) {
        guard !key.utf8.contains(0) else { throw Self.invalid("a BSON key cannot contain NUL: \(key.debugDescription)") }
        let appended: Bool
        switch value {
        case .double(let number): appended = bson_append_double(pointer, key, -1, number)
        case .string(let text):
            guard !text.utf8.contains(0) else { throw Self.invalid("a BSON string cannot contain NUL (key \(key))") }
            appended = bson_append_utf8(pointer, key, -1, text, Int32(clamping: text.utf8.count))
        case .document(let document):
            // The child must outlive the call: its deinit frees what `pointer` points at.
            let child = try BSONDocument(document)
            appended = withExtendedLifetime(child) { bson_append_document(pointer, key, -1, child.pointer) }
        case .array(let values):
            let array = BSONDocument()
            for (index, element) in values.enumerated() { try array.append(String(index), element) }
            appended = withExtendedLifetime(array) { bson_append_array(pointer, key, -1, array.pointer) }
        case .bool(let flag): appended = bson_append_bool(pointer, key, -1, flag)
        case .null, .unsupported: appended = bson_append_null(pointer, key, -1)
        case .int32(let number): appended = bson_append_int32(pointer, key, -1, number)
        case .int64(let number): appended = bson_append_int64(pointer, key, -1, number)
        case .date(let date): appended = bson_append_date_time(pointer, key, -1, Int64((date.timeIntervalSince1970 * 1000).rounded()))
        case .objectId(let hex):
            guard bson_oid_is_valid(hex, hex.utf8.count) else { throw Self.invalid("not an ObjectId (24 hex digits): \(hex.debugDescription)") }
            var oid = bson_oid_t()
            bson_oid_init_from_string(&oid, hex)
            appended = bson_append_oid(pointer, key, -1, &oid)
        }
        guard appended else { throw Self.invalid("cannot append \(key): the document would pass BSON's size limit") }
    }

    private static func invalid(_ message: String) -> MongoError {
        MongoError(domain: UInt32(MONGOC_ERROR_BSON.rawValue), code: UInt32(MONGOC_ERROR_BSON_INVALID.rawValue), message: message)
    }

    // MARK: Reading

    /// The whole document, field by field.
    var document: MongoDocument { Self.document(pointer) }

    static func document(_ bson: OpaquePointer) -> MongoDocument {
        withIterator { iterator in
            guard bson_iter_init(iterator, bson) else { return MongoDocument() }
            return fields(iterator)
        }
    }

    /// A numeric field (int32, int64, double or bool) as Int64.
    func int64(_ key: String) -> Int64? {
        Self.withIterator { iterator -> Int64? in
            guard bson_iter_init_find(iterator, pointer, key) else { return nil }
            switch bson_iter_type(iterator) {
            case BSON_TYPE_INT32, BSON_TYPE_INT64, BSON_TYPE_DOUBLE, BSON_TYPE_BOOL: return bson_iter_as_int64(iterator)
            default: return nil
            }
        }
    }

    func contains(_ key: String) -> Bool {
        Self.withIterator { bson_iter_init_find($0, pointer, key) }
    }

    /// The first key (telling update operators from a replacement document).
    var firstKey: String? {
        Self.withIterator { iterator -> String? in
            guard bson_iter_init(iterator, pointer), bson_iter_next(iterator), let key = bson_iter_key(iterator) else { return nil }
            return String(cString: key)
        }
    }

    private static func withIterator<T>(_ body: (OpaquePointer) -> T) -> T {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: iteratorSize, alignment: alignment)
        defer { raw.deallocate() }
        return body(OpaquePointer(raw))
    }

    /// The fields from `iterator`'s position on (it is advanced to the end).
    private static func fields(_ iterator: OpaquePointer) -> MongoDocument {
        var fields: [(String, MongoValue)] = []
        while bson_iter_next(iterator) {
            fields.append((String(cString: bson_iter_key(iterator)), value(iterator)))
        }
        return MongoDocument(fields)
    }

    private static func value(_ iterator: OpaquePointer) -> MongoValue {
        switch bson_iter_type(iterator) {
        case BSON_TYPE_DOUBLE: return .double(bson_iter_double(iterator))
        case BSON_TYPE_UTF8:
            var length: UInt32 = 0
            guard let text = bson_iter_utf8(iterator, &length) else { return .string("") }
            return .string(String(decoding: UnsafeRawBufferPointer(start: text, count: Int(length)), as: UTF8.self))
        case BSON_TYPE_DOCUMENT:
            return .document(withIterator { child in bson_iter_recurse(iterator, child) ? fields(child) : MongoDocument() })
        case BSON_TYPE_ARRAY:
            let elements = withIterator { child in bson_iter_recurse(iterator, child) ? fields(child) : MongoDocument() }
            return .array(elements.fields.map(\.value))
        case BSON_TYPE_BOOL: return .bool(bson_iter_bool(iterator))
        case BSON_TYPE_NULL, BSON_TYPE_UNDEFINED: return .null
        case BSON_TYPE_INT32: return .int32(bson_iter_int32(iterator))
        case BSON_TYPE_INT64: return .int64(bson_iter_int64(iterator))
        case BSON_TYPE_DATE_TIME: return .date(Date(timeIntervalSince1970: Double(bson_iter_date_time(iterator)) / 1000))
        case BSON_TYPE_OID:
            guard let oid = bson_iter_oid(iterator) else { return .null }
            var text = [CChar](repeating: 0, count: 25)
            bson_oid_to_string(oid, &text)
            return .objectId(String(cString: text))
        case let type: return .unsupported(bson_type_name(type))
        }
    }

    private static func bson_type_name(_ type: bson_type_t) -> String {
        switch type {
        case BSON_TYPE_BINARY: "binary"
        case BSON_TYPE_REGEX: "regex"
        case BSON_TYPE_DECIMAL128: "decimal128"
        case BSON_TYPE_TIMESTAMP: "timestamp"
        case BSON_TYPE_CODE, BSON_TYPE_CODEWSCOPE: "code"
        default: "BSON type \(type.rawValue)"
        }
    }
}
