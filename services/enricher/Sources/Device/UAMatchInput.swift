import Foundation

// One user agent, prepared once for matching against all three rule lists:
// the UTF-8 bytes, an ASCII-lower-cased copy and their byte-pair sets for the
// literal prefilter, the UTF-16 length for NSRegularExpression's NSRange.

struct UAMatchInput {
    let string: String
    let utf16Length: Int
    let bytes: [UInt8]
    let lowercasedBytes: [UInt8]
    let bigrams: UABigramSet
    let lowercasedBigrams: UABigramSet
    /// Case-insensitive prefilters are skipped for non-ASCII input: ICU folds
    /// case beyond ASCII, so an ASCII search could miss a match.
    let isASCII: Bool

    init(_ string: String) {
        self.string = string
        utf16Length = string.utf16.count
        bytes = Array(string.utf8)
        var ascii = true
        lowercasedBytes = bytes.map { byte in
            if byte >= 0x80 { ascii = false }
            return byte &- 0x41 < 26 ? byte | 0x20 : byte  // A-Z -> a-z
        }
        isASCII = ascii
        bigrams = UABigramSet(bytes)
        lowercasedBigrams = UABigramSet(lowercasedBytes)
    }

    /// Runs, in order, the rules whose prefilter passes until one matches, and
    /// expands its templates; nil when none matches.
    func firstMatch(in list: UARuleList) -> [String?]? {
        let range = NSRange(location: 0, length: utf16Length)
        var result: [String?]?
        list.prefilter.forEachCandidate(in: self) { index in
            let rule = list.rules[index]
            guard let match = rule.regex.firstMatch(in: string, options: [], range: range) else { return false }
            result = rule.templates.map { template in template.flatMap { expand($0, match) } }
            return true
        }
        return result
    }

    /// Fills `$n` from the match (a group that did not take part is ""), trims
    /// surrounding whitespace; an empty result is nil.
    private func expand(_ template: UAReplacementTemplate, _ match: NSTextCheckingResult) -> String? {
        var result = ""
        for part in template.parts {
            switch part {
            case .text(let text):
                result += text
            case .group(let n):
                guard n < match.numberOfRanges else { continue }
                let range = match.range(at: n)
                guard range.location != NSNotFound, let r = Range(range, in: string) else { continue }
                result += string[r]
            }
        }
        let trimmed = result.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }
}

