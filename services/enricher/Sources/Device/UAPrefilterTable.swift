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
    /// All literals' bytes, back to back.
    private var bytes: [UInt8] = []
    /// Literal i is bytes[literalStart[i] ..< literalStart[i + 1]].
    private var literalStart: [Int] = [0]
    /// Three byte-pair hashes of literal i (first, middle, last pair) at 3i ..< 3i + 3.
    private var literalBigrams: [UInt16] = []
    /// Set j is literals setStart[j] ..< setStart[j + 1]; it holds when any of them occurs.
    private var setStart: [Int] = [0]
    private var setCaseInsensitive: [Bool] = []
    /// Rule k's conditions are sets ruleStart[k] ..< ruleStart[k + 1]; all must hold.
    private var ruleStart: [Int] = [0]

    var ruleCount: Int { ruleStart.count - 1 }

    /// Adds the next rule's conditions (literals of at least 2 bytes).
    mutating func append(_ requirement: [UALiteralSet]) {
        for set in requirement {
            for literal in set.literals {
                precondition(literal.count >= 2, "prefilter literals have at least two bytes")
                bytes += literal
                literalStart.append(bytes.count)
                let middle = literal.count / 2
                literalBigrams += [
                    UABigramSet.hash(literal[0], literal[1]),
                    UABigramSet.hash(literal[middle - 1], literal[middle]),
                    UABigramSet.hash(literal[literal.count - 2], literal[literal.count - 1]),
                ]
            }
            setStart.append(literalStart.count - 1)
            setCaseInsensitive.append(set.caseInsensitive)
        }
        ruleStart.append(setStart.count - 1)
    }

    /// Number of rules with no condition at all (their regex always runs).
    var unconditionalRuleCount: Int {
        (0..<ruleCount).count { ruleStart[$0] == ruleStart[$0 + 1] }
    }

    /// Calls `body` with the index of each rule, in order, whose conditions the
    /// input meets, until `body` returns true.
    func forEachCandidate(in input: UAMatchInput, _ body: (Int) -> Bool) {
        bytes.withUnsafeBytes { bytes in
        literalStart.withUnsafeBufferPointer { literalStart in
        literalBigrams.withUnsafeBufferPointer { literalBigrams in
        setStart.withUnsafeBufferPointer { setStart in
        setCaseInsensitive.withUnsafeBufferPointer { setCaseInsensitive in
        ruleStart.withUnsafeBufferPointer { ruleStart in
        input.bytes.withUnsafeBytes { haystack in
        input.lowercasedBytes.withUnsafeBytes { lowercasedHaystack in
        input.bigrams.bits.withUnsafeBufferPointer { bigrams in
        input.lowercasedBigrams.bits.withUnsafeBufferPointer { lowercasedBigrams in
            rules: for rule in 0..<ruleStart.count - 1 {
                for set in ruleStart[rule]..<ruleStart[rule + 1] {
                    let folded = setCaseInsensitive[set]
                    // ICU folds case beyond ASCII; for non-ASCII input a folded
                    // condition is not checked (it holds).
                    if folded, !input.isASCII { continue }
                    let hay = folded ? lowercasedHaystack : haystack
                    let pairs = folded ? lowercasedBigrams : bigrams
                    var found = false
                    for literal in setStart[set]..<setStart[set + 1] {
                        let g = 3 * literal
                        guard Self.has(literalBigrams[g], pairs), Self.has(literalBigrams[g + 1], pairs),
                              Self.has(literalBigrams[g + 2], pairs) else { continue }
                        let start = literalStart[literal], end = literalStart[literal + 1]
                        if Self.contains(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), in: hay) {
                            found = true
                            break
                        }
                    }
                    if !found { continue rules }
                }
                if body(rule) { return }
            }
        }}}}}}}}}}
    }

    @inline(__always)
    private static func has(_ hash: UInt16, _ bits: UnsafeBufferPointer<UInt64>) -> Bool {
        bits[Int(hash >> 6)] & (1 << UInt64(hash & 63)) != 0
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
