import CMongoc

/// Owns one `bson_t`. Internal: the public API speaks relaxed extended JSON.
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

    /// Parses (relaxed or canonical) extended JSON; throws libbson's message.
    init(json: String) throws(MongoError) {
        let pointer = Self.allocate()
        var error = bson_error_t()
        let utf8 = Array(json.utf8)
        let ok = utf8.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                bson_init_from_json(pointer, $0.baseAddress, $0.count, &error)
            }
        }
        guard ok else {
            // bson_init_from_json destroys the document itself on failure.
            UnsafeMutableRawPointer(pointer).deallocate()
            throw MongoError(error)
        }
        self.pointer = pointer
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

    /// Relaxed extended JSON.
    var json: String { Self.json(pointer) }

    static func json(_ document: OpaquePointer) -> String {
        var length = 0
        guard let text = bson_as_relaxed_extended_json(document, &length) else { return "{}" }
        defer { bson_free(text) }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self)
    }

    // MARK: building

    func append(_ key: String, _ value: String) {
        bson_append_utf8(pointer, key, -1, value, -1)
    }

    func append(_ key: String, _ value: Bool) {
        bson_append_bool(pointer, key, -1, value)
    }

    func append(_ key: String, _ value: Int64) {
        bson_append_int64(pointer, key, -1, value)
    }

    func append(_ key: String, document: BSONDocument) {
        bson_append_document(pointer, key, -1, document.pointer)
    }

    /// Appends an array of documents.
    func append(_ key: String, array: [BSONDocument]) {
        let list = BSONDocument()
        for (index, element) in array.enumerated() {
            list.append(String(index), document: element)
        }
        bson_append_array(pointer, key, -1, list.pointer)
    }

    // MARK: reading

    /// Calls `body` with an iterator positioned on `key`, if present.
    private func withIterator<T>(at key: String, _ body: (OpaquePointer) -> T) -> T? {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: Self.iteratorSize, alignment: Self.alignment)
        defer { raw.deallocate() }
        let iterator = OpaquePointer(raw)
        guard bson_iter_init_find(iterator, pointer, key) else { return nil }
        return body(iterator)
    }

    func contains(_ key: String) -> Bool {
        withIterator(at: key) { _ in true } ?? false
    }

    /// A numeric field (int32, int64, double or bool) as Int64.
    func int64(_ key: String) -> Int64? {
        withIterator(at: key) { iterator -> Int64? in
            switch bson_iter_type(iterator) {
            case BSON_TYPE_INT32, BSON_TYPE_INT64, BSON_TYPE_DOUBLE, BSON_TYPE_BOOL:
                return bson_iter_as_int64(iterator)
            default:
                return nil
            }
        } ?? nil
    }

    /// The first key of the document (for telling update operators from a
    /// replacement document).
    var firstKey: String? {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: Self.iteratorSize, alignment: Self.alignment)
        defer { raw.deallocate() }
        let iterator = OpaquePointer(raw)
        guard bson_iter_init(iterator, pointer), bson_iter_next(iterator), let key = bson_iter_key(iterator) else {
            return nil
        }
        return String(cString: key)
    }
}
