#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The literal prefilters of one rule list (see UARegexAnalysis), flattened into
// a few contiguous arrays, so that checking a rule against a user agent works
// on raw pointers: no reference counting, no allocation. Nearly all rules of a
// list are ruled out this way; only the few whose literals all occur are
// handed to ICU.
//
// A literal is looked for in two steps. First, in O(1), a bitmap of the byte
// pairs the user agent contains (`UABigramSet`, built once per user agent) must
// have the literal's first, middle and last pair; most literals stop there.
// Only then memchr/memcmp search for it.

/// The adjacent byte pairs of a text, hashed into 4,096 bits. Membership can
/// give false positives (then the exact search runs), never false negatives.
struct UABigramSet {
    static let words = 64  // 64 x 64 bits

    private(set) var bits: [UInt64]

    init(_ bytes: [UInt8]) {
        var bits = [UInt64](repeating: 0, count: Self.words)
        if bytes.count >= 2 {
            for i in 1..<bytes.count {
                let h = Self.hash(bytes[i - 1], bytes[i])
                bits[Int(h >> 6)] |= 1 << UInt64(h & 63)
            }
        }
        self.bits = bits
    }

    @inline(__always)
    static func hash(_ a: UInt8, _ b: UInt8) -> UInt16 {
        (UInt16(a) &* 67 &+ UInt16(b)) & 4095
    }
}

struct UAPrefilterTable: Sendable {
    struct Literal {
        /// bytes[start ..< start + length]
        var start: Int32
        var length: Int32
        /// Byte-pair hashes of the first, middle and last pair.
        var pairs: (UInt16, UInt16, UInt16)
    }

    struct LiteralSet {
        /// literals[first ..< end]; the set holds when any of them occurs.
        var first: Int32
        var end: Int32
        var caseInsensitive: Bool
    }

    /// All literals' bytes, back to back.
    private var bytes: [UInt8] = []
    private var literals: [Literal] = []
    private var sets: [LiteralSet] = []
    /// Rule k's conditions are sets[ruleStart[k] ..< ruleStart[k + 1]]; all must hold.
    private var ruleStart: [Int32] = [0]

    var ruleCount: Int { ruleStart.count - 1 }

    /// Adds the next rule's conditions (literals of at least 2 bytes).
    mutating func append(_ requirement: [UALiteralSet]) {
        for set in requirement {
            let first = Int32(literals.count)
            for literal in set.literals {
                precondition(literal.count >= 2, "prefilter literals have at least two bytes")
                let middle = literal.count / 2
                literals.append(Literal(
                    start: Int32(bytes.count), length: Int32(literal.count),
                    pairs: (UABigramSet.hash(literal[0], literal[1]),
                            UABigramSet.hash(literal[middle - 1], literal[middle]),
                            UABigramSet.hash(literal[literal.count - 2], literal[literal.count - 1]))))
                bytes += literal
            }
            sets.append(LiteralSet(first: first, end: Int32(literals.count), caseInsensitive: set.caseInsensitive))
        }
        ruleStart.append(Int32(sets.count))
    }

    /// Number of rules with no condition at all (their regex always runs).
    var unconditionalRuleCount: Int {
        (0..<ruleCount).count { ruleStart[$0] == ruleStart[$0 + 1] }
    }

    /// Calls `body` with the index of each rule, in order, whose conditions the
    /// input meets, until `body` returns true.
    ///
    /// Plain while loops over raw pointers: this runs for every rule of every
    /// parse, and they stay cheap even unoptimised (debug builds, the
    /// conformance test).
    func forEachCandidate(in input: UAMatchInput, _ body: (Int) -> Bool) {
        bytes.withUnsafeBufferPointer { bytesBuffer in
        literals.withUnsafeBufferPointer { literalsBuffer in
        sets.withUnsafeBufferPointer { setsBuffer in
        ruleStart.withUnsafeBufferPointer { ruleStartBuffer in
        input.bytes.withUnsafeBufferPointer { haystack in
        input.lowercasedBytes.withUnsafeBufferPointer { lowercasedHaystack in
        input.bigrams.bits.withUnsafeBufferPointer { pairBuffer in
        input.lowercasedBigrams.bits.withUnsafeBufferPointer { lowercasedPairBuffer in
            guard let ruleStart = ruleStartBuffer.baseAddress else { return }
            let ruleCount = ruleStartBuffer.count - 1
            let literals = literalsBuffer.baseAddress, sets = setsBuffer.baseAddress
            let bytes = UnsafeRawPointer(bytesBuffer.baseAddress)
            let pairs = pairBuffer.baseAddress!, lowercasedPairs = lowercasedPairBuffer.baseAddress!
            let isASCII = input.isASCII
            var rule = 0
            rules: while rule < ruleCount {
                var set = Int(ruleStart[rule])
                let setEnd = Int(ruleStart[rule + 1])
                while set < setEnd {
                    let condition = sets![set]
                    set += 1
                    // ICU folds case beyond ASCII; for non-ASCII input a folded
                    // condition is not checked (it holds).
                    if condition.caseInsensitive, !isASCII { continue }
                    let hay = condition.caseInsensitive ? lowercasedHaystack : haystack
                    let bits = condition.caseInsensitive ? lowercasedPairs : pairs
                    var literal = Int(condition.first)
                    let literalEnd = Int(condition.end)
                    var found = false
                    while literal < literalEnd {
                        let entry = literals![literal]
                        literal += 1
                        guard Self.has(entry.pairs.0, bits), Self.has(entry.pairs.1, bits),
                              Self.has(entry.pairs.2, bits) else { continue }
                        let needle = UnsafeRawBufferPointer(start: bytes! + Int(entry.start), count: Int(entry.length))
                        if Self.contains(needle, in: UnsafeRawBufferPointer(hay)) {
                            found = true
                            break
                        }
                    }
                    if !found {
                        rule += 1
                        continue rules
                    }
                }
                if body(rule) { return }
                rule += 1
            }
        }}}}}}}}
    }

    @inline(__always)
    private static func has(_ hash: UInt16, _ bits: UnsafePointer<UInt64>) -> Bool {
        bits[Int(hash &>> 6)] & (1 &<< UInt64(hash & 63)) != 0
    }

    /// Substring search: memchr for the first byte, memcmp for the rest
    /// (memmem is a GNU extension that Glibc's Swift module does not export).
    @inline(__always)
    static func contains(_ needle: UnsafeRawBufferPointer, in haystack: UnsafeRawBufferPointer) -> Bool {
        let count = needle.count
        guard count > 0 else { return true }
        guard haystack.count >= count, let base = haystack.baseAddress, let needleBase = needle.baseAddress else {
            return false
        }
        let first = Int32(needleBase.load(as: UInt8.self))
        let lastStart = base + (haystack.count - count)
        var cursor = base
        while cursor <= lastStart {
            guard let hit = memchr(cursor, first, lastStart - cursor + 1) else { return false }
            if memcmp(hit, needleBase, count) == 0 { return true }
            cursor = UnsafeRawPointer(hit) + 1
        }
        return false
    }
}
