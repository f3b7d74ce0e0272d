// Reads a uap-core regex (PCRE / Python `re` dialect) once, at load time, for
// two things:
//
// 1. A translation to ICU, the engine behind NSRegularExpression. The dialects
//    agree on nearly everything uap-core uses; where they differ the pattern is
//    rewritten so that ICU means what PCRE means:
//      - `[` inside a character class is a literal in PCRE but opens a nested
//        set in ICU -> `\[` (POSIX `[:alpha:]` is left alone);
//      - `&&` and `--` inside a class are set operators in ICU -> escaped;
//      - a `{` that does not start a `{n}`, `{n,}` or `{n,m}` quantifier is a
//        literal in PCRE but an error in ICU -> `\{` (and its `}` -> `\}`);
//      - Python's named groups `(?P<name>...)` / `(?P=name)` -> `(?<name>...)` / `\k<name>`.
//
// 2. A literal prefilter: byte strings that must occur in any input the regex
//    can match (e.g. `SM-` and one of ` Build`, `) AppleWebKit` for
//    `; *(SM-[A-Z]\d+)(?: Build|\) AppleWebKit)`). Checking them is far cheaper
//    than a call into ICU, so most rules are skipped without running their
//    regex. The analysis is conservative: whenever it is unsure, it requires
//    nothing and the regex simply runs. (Nothing here changes what matches:
//    the prefilter only skips regexes that cannot match.)

/// One conjunct of a prefilter: the input contains at least one of `literals`
/// (compared after ASCII lower-casing when `caseInsensitive`).
struct UALiteralSet: Sendable, Hashable {
    var literals: [[UInt8]]
    var caseInsensitive: Bool
}

struct UARegexAnalysis: Sendable {
    /// The pattern, rewritten for ICU where the dialects differ.
    var icuPattern: String
    /// Conditions that all hold for any input the regex matches; empty when none is known.
    var requirement: [UALiteralSet]

    /// Literals shorter than this are not worth a search: nearly every UA has them.
    static let minimumLiteralLength = 2

    init(pattern: String, caseInsensitive: Bool) {
        var parser = Parser(Array(pattern.unicodeScalars))
        let alternatives = parser.parseAlternatives()
        // Anything left (an unbalanced ")") is passed on for ICU to judge.
        icuPattern = parser.output + String(String.UnicodeScalarView(parser.scalars[parser.position...]))
        // A pattern the scanner did not fully understand gets no prefilter.
        guard parser.understood, parser.position == parser.scalars.count else {
            requirement = []
            return
        }
        let ignoreCase = caseInsensitive || pattern.contains("(?i")
        var requirement: [UALiteralSet] = []
        for set in Self.conjuncts(ofAlternatives: alternatives) {
            let folded = ignoreCase || set.caseInsensitive
            // ICU's case folding goes beyond ASCII (e.g. K and KELVIN SIGN): only
            // pure ASCII literals can be compared after ASCII lower-casing.
            if folded, !set.literals.allSatisfy({ $0.unicodeScalars.allSatisfy(\.isASCII) }) { continue }
            var seen = Set<[UInt8]>()
            let literals = set.literals
                .map { Array((folded ? $0.lowercased() : $0).utf8) }
                .filter { seen.insert($0).inserted }
            let literalSet = UALiteralSet(literals: literals, caseInsensitive: folded)
            if !requirement.contains(literalSet) { requirement.append(literalSet) }
        }
        self.requirement = requirement
    }

    // MARK: Syntax tree (just enough for literal extraction)

    indirect enum Node {
        /// One character; `foldsCase` when it came from a class like `[Ss]`.
        case literal(Unicode.Scalar, foldsCase: Bool)
        /// One of a few characters (a small class like `[34]`).
        case characters([Unicode.Scalar])
        /// Consumes input the analysis does not track (class, `.`, `\d`, backreference...).
        case opaque
        /// Consumes nothing (`^`, `$`, `\b`, lookaround, inline flags).
        case assertion
        case group([[Quantified]])
    }

    struct Quantified {
        var node: Node
        var min: Int = 1
        var max: Int? = 1  // nil = unbounded
    }

    // MARK: Requirements
    //
    // A requirement is a conjunction of sets of literals: the input must contain
    // one literal of each set. A sequence requires each of its literal runs and
    // what its mandatory groups require; an alternation requires one literal out
    // of a set drawn from every branch (or nothing, if some branch requires nothing).

    struct LiteralSet {
        var literals: [String]
        var caseInsensitive: Bool
        var shortest: Int { literals.lazy.map(\.utf8.count).min() ?? 0 }
    }

    /// Most conjunctions an alternation is expanded into (see below).
    static let maximumDistributedConjuncts = 16

    static func conjuncts(ofAlternatives alternatives: [[Quantified]]) -> [LiteralSet] {
        if alternatives.count == 1 { return conjuncts(ofSequence: alternatives[0]) }
        var branches: [[LiteralSet]] = []
        for sequence in alternatives {
            let sets = conjuncts(ofSequence: sequence)
            if sets.isEmpty { return [] }  // this branch can match without any literal
            branches.append(sets)
        }
        // (A and B) or C = (A or C) and (B or C): keep every conjunct of every
        // branch while the product stays small ...
        let product = branches.reduce(1) { $0 * min($1.count, maximumDistributedConjuncts + 1) }
        if product <= maximumDistributedConjuncts {
            var combined = [LiteralSet(literals: [], caseInsensitive: false)]
            for sets in branches {
                combined = combined.flatMap { partial in
                    sets.map { set in
                        LiteralSet(literals: partial.literals + set.literals,
                                   caseInsensitive: partial.caseInsensitive || set.caseInsensitive)
                    }
                }
            }
            return combined
        }
        // ... otherwise take from each branch its most telling set: the longest
        // shortest literal, then the fewest literals.
        var union = LiteralSet(literals: [], caseInsensitive: false)
        for sets in branches {
            let best = sets.max { a, b in
                a.shortest != b.shortest ? a.shortest < b.shortest : a.literals.count > b.literals.count
            }!
            union.literals += best.literals
            union.caseInsensitive = union.caseInsensitive || best.caseInsensitive
        }
        return [union]
    }

    /// Largest set of strings a run of the pattern is spelled out into.
    static let maximumLanguageSize = 64

    /// A sequence's literal runs: maximal stretches of items with a small,
    /// finite set of spellings (literals, `x?`, ` {0,2}`, `(?:ab|cd)`), spelled
    /// out. `; {0,2}(G7|M15)` requires one of ";G7", "; G7", ";  G7", ";M15", ...
    /// which is far more telling than "G7" or "M15" alone. Items with no finite
    /// spelling (`\d+`, `[^;]*`, `.`) end a run; a mandatory group among them
    /// still contributes what it requires inside.
    static func conjuncts(ofSequence sequence: [Quantified]) -> [LiteralSet] {
        var sets: [LiteralSet] = []
        var run = LiteralSet(literals: [""], caseInsensitive: false)
        func flush() {
            // A run that can be (nearly) empty requires nothing useful.
            if run.shortest >= minimumLiteralLength { sets.append(run) }
            run = LiteralSet(literals: [""], caseInsensitive: false)
        }
        func extend(with next: LiteralSet) {
            if run.literals.count * next.literals.count > maximumLanguageSize { flush() }
            run = LiteralSet(literals: run.literals.flatMap { head in next.literals.map { head + $0 } },
                             caseInsensitive: run.caseInsensitive || next.caseInsensitive)
        }
        for item in sequence {
            if let language = language(of: item) {
                extend(with: language)
                continue
            }
            switch item.node {
            case let .literal(scalar, foldsCase) where item.min >= 1:
                // `a+`: one `a` is certain, but what follows is not adjacent to it.
                extend(with: LiteralSet(literals: [String(scalar)], caseInsensitive: foldsCase))
                flush()
            case .group(let alternatives) where item.min >= 1:
                flush()
                sets += conjuncts(ofAlternatives: alternatives)
            default:
                flush()
            }
        }
        flush()
        return sets
    }

    /// Every string `item` can match, when they are few (nil otherwise).
    static func language(of item: Quantified) -> LiteralSet? {
        let base: LiteralSet
        switch item.node {
        case let .literal(scalar, foldsCase):
            base = LiteralSet(literals: [String(scalar)], caseInsensitive: foldsCase)
        case .characters(let members):
            base = LiteralSet(literals: members.map { String($0) }, caseInsensitive: false)
        case .assertion:
            base = LiteralSet(literals: [""], caseInsensitive: false)
        case .opaque:
            return nil
        case .group(let alternatives):
            var union = LiteralSet(literals: [], caseInsensitive: false)
            for sequence in alternatives {
                var spelled = LiteralSet(literals: [""], caseInsensitive: false)
                for part in sequence {
                    guard let next = language(of: part),
                          spelled.literals.count * next.literals.count <= maximumLanguageSize else { return nil }
                    spelled = LiteralSet(literals: spelled.literals.flatMap { head in next.literals.map { head + $0 } },
                                         caseInsensitive: spelled.caseInsensitive || next.caseInsensitive)
                }
                union.literals += spelled.literals
                union.caseInsensitive = union.caseInsensitive || spelled.caseInsensitive
                guard union.literals.count <= maximumLanguageSize else { return nil }
            }
            base = union
        }
        // Repetition: min...max copies, for small bounded counts only.
        guard let max = item.max, max <= 3 else { return nil }
        var result = LiteralSet(literals: item.min == 0 ? [""] : [], caseInsensitive: base.caseInsensitive)
        var power = LiteralSet(literals: [""], caseInsensitive: base.caseInsensitive)
        for count in 1...Swift.max(1, max) where max >= 1 {
            guard power.literals.count * base.literals.count <= maximumLanguageSize else { return nil }
            power.literals = power.literals.flatMap { head in base.literals.map { head + $0 } }
            if count >= item.min { result.literals += power.literals }
            guard result.literals.count <= maximumLanguageSize else { return nil }
        }
        var seen = Set<String>()
        result.literals = result.literals.filter { seen.insert($0).inserted }
        return result
    }

    // MARK: Parser

    struct Parser {
        let scalars: [Unicode.Scalar]
        var position = 0
        var output = ""
        /// False once something was seen that the scanner does not model.
        var understood = true

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var atEnd: Bool { position >= scalars.count }
        func peek(_ offset: Int = 0) -> Unicode.Scalar? {
            position + offset < scalars.count ? scalars[position + offset] : nil
        }
        mutating func emit(_ s: Unicode.Scalar) { output.unicodeScalars.append(s) }
        mutating func emit(_ s: String) { output += s }
        /// Copies the next scalar to the output unchanged.
        mutating func take() -> Unicode.Scalar {
            let s = scalars[position]
            position += 1
            emit(s)
            return s
        }

        mutating func parseAlternatives() -> [[Quantified]] {
            var alternatives: [[Quantified]] = [[]]
            while let c = peek() {
                if c == ")" { break }
                if c == "|" {
                    _ = take()
                    alternatives.append([])
                    continue
                }
                guard let node = parseAtom() else { continue }
                var item = Quantified(node: node)
                parseQuantifier(into: &item)
                alternatives[alternatives.count - 1].append(item)
            }
            return alternatives
        }

        /// nil for things that are no atom (a comment group).
        mutating func parseAtom() -> Node? {
            let c = take()
            switch c {
            case "\\": return parseEscape()
            case "[": return parseClass()
            case "(": return parseGroup()
            case ".": return .opaque
            case "^", "$": return .assertion
            case "{":
                // Not a quantifier here (those are consumed after an atom): a literal in PCRE.
                output.unicodeScalars.removeLast()
                emit("\\{")
                return .literal("{", foldsCase: false)
            case "}":
                output.unicodeScalars.removeLast()
                emit("\\}")
                return .literal("}", foldsCase: false)
            case "*", "+", "?":
                understood = false  // a quantifier with nothing to repeat; let ICU judge it
                return .opaque
            default:
                return .literal(c, foldsCase: false)
            }
        }

        mutating func parseEscape() -> Node {
            guard !atEnd else { understood = false; return .opaque }
            let c = take()
            switch c {
            case "d", "D", "w", "W", "s", "S", "h", "H", "v", "V", "R", "X", "C", "N":
                return .opaque
            case "b", "B", "A", "Z", "z", "G", "K":
                return .assertion
            case "n": return .literal("\n", foldsCase: false)
            case "t": return .literal("\t", foldsCase: false)
            case "r": return .literal("\r", foldsCase: false)
            case "f": return .literal("\u{0C}", foldsCase: false)
            case "e": return .literal("\u{1B}", foldsCase: false)
            case "a": return .literal("\u{07}", foldsCase: false)
            case "x", "u", "p", "P", "k", "g", "c", "o":
                // \x41 \x{263A} \u00E9 \p{L} \k<name> ...: consume the argument, track nothing.
                if peek() == "{" || peek() == "<" {
                    let close: Unicode.Scalar = peek() == "{" ? "}" : ">"
                    while !atEnd, take() != close {}
                } else if c == "x" {
                    for _ in 0..<2 where peek()?.properties.isASCIIHexDigit == true { _ = take() }
                } else if c == "u" {
                    for _ in 0..<4 where peek()?.properties.isASCIIHexDigit == true { _ = take() }
                } else if !atEnd {
                    _ = take()
                }
                return .opaque
            case "Q":
                // \Q...\E quotes literally; ICU knows it too.
                var literals: [Quantified] = []
                while !atEnd {
                    if peek() == "\\", peek(1) == "E" { _ = take(); _ = take(); break }
                    literals.append(Quantified(node: .literal(take(), foldsCase: false)))
                }
                return .group([literals])
            default:
                if c.properties.numericType != nil {
                    // Backreference or octal escape.
                    while peek()?.properties.numericType != nil { _ = take() }
                    return .opaque
                }
                if c.properties.isAlphabetic {
                    understood = false  // an escape this scanner does not know
                    return .opaque
                }
                return .literal(c, foldsCase: false)  // \. \/ \( \- ...
            }
        }

        /// Copies a character class, escaping what ICU would read as set syntax.
        /// A class of one letter in both cases (`[Ss]`) is that letter, case
        /// folded; a class of a few plain ASCII characters (`[34]`, `[A-C_]`) is
        /// the set of them.
        mutating func parseClass() -> Node {
            if peek() == "^" {
                _ = take()
            } else if let a = peek(), let b = peek(1), peek(2) == "]", a.isASCII, b.isASCII, a != b,
                      a.properties.isAlphabetic, String(a).lowercased() == String(b).lowercased() {
                _ = take(); _ = take(); _ = take()
                return .literal(Unicode.Scalar(String(a).lowercased())!, foldsCase: true)
            } else if let members = smallClass() {
                while take() != "]" {}
                return members.count == 1 ? .literal(members[0], foldsCase: false) : .characters(members)
            }
            if peek() == "]" { _ = take(); output.unicodeScalars.removeLast(); emit("\\]") }
            while let c = peek() {
                switch c {
                case "]":
                    _ = take()
                    return .opaque
                case "\\":
                    _ = take()
                    if !atEnd { _ = take() }
                case "[":
                    if peek(1) == ":" || peek(1) == "=" || peek(1) == "." {
                        // POSIX bracket expression [:alpha:]; copy through its closing ":]".
                        let kind = peek(1)!
                        _ = take(); _ = take()
                        while !atEnd, !(peek() == kind && peek(1) == "]") { _ = take() }
                        if !atEnd { _ = take(); _ = take() }
                    } else {
                        position += 1
                        emit("\\[")
                    }
                case "&" where peek(1) == "&", "-" where peek(1) == "-":
                    _ = take()
                    position += 1
                    emit("\\")
                    emit(c)
                default:
                    _ = take()
                }
            }
            understood = false  // unterminated class
            return .opaque
        }

        /// Largest class spelled out as its members.
        static let maximumClassSize = 10

        /// The members of a class body made of plain ASCII characters and
        /// ranges only (no negation, escapes or brackets), when there are few.
        func smallClass() -> [Unicode.Scalar]? {
            var members: [Unicode.Scalar] = []
            var i = position
            while i < scalars.count, scalars[i] != "]" {
                let c = scalars[i]
                guard c.isASCII, c != "\\", c != "[", c != "^" || i > position else { return nil }
                if i + 2 < scalars.count, scalars[i + 1] == "-", scalars[i + 2] != "]" {
                    let upper = scalars[i + 2]
                    guard upper.isASCII, upper != "\\", upper != "[", c.value <= upper.value,
                          upper.value - c.value < UInt32(Self.maximumClassSize) else { return nil }
                    members += (c.value...upper.value).compactMap(Unicode.Scalar.init)
                    i += 3
                } else {
                    members.append(c)
                    i += 1
                }
                guard members.count <= Self.maximumClassSize else { return nil }
            }
            guard i < scalars.count, !members.isEmpty else { return nil }
            var seen = Set<Unicode.Scalar>()
            return members.filter { seen.insert($0).inserted }
        }

        mutating func parseGroup() -> Node? {
            guard peek() == "?" else { return groupBody() }
            // Extension syntax.
            let next = peek(1)
            switch next {
            case ":", ">", "|":
                _ = take(); _ = take()
                return groupBody()
            case "=", "!":
                _ = take(); _ = take()
                _ = groupBody()
                return .assertion
            case "<" where peek(2) == "=" || peek(2) == "!":
                _ = take(); _ = take(); _ = take()
                _ = groupBody()
                return .assertion
            case "<", "'":
                // Named capture, same syntax in ICU: copy the name through.
                _ = take()
                let close: Unicode.Scalar = take() == "<" ? ">" : "'"
                while !atEnd, take() != close {}
                return groupBody()
            case "P":
                if peek(2) == "<" {
                    // (?P<name>...) -> (?<name>...)
                    _ = take()  // "?"
                    position += 1  // drop "P"
                    _ = take()  // "<"
                    while !atEnd, take() != ">" {}
                    return groupBody()
                }
                if peek(2) == "=" {
                    // (?P=name) -> \k<name>
                    output.unicodeScalars.removeLast()  // the "("
                    position += 3
                    emit("\\k<")
                    while let s = peek(), s != ")" { _ = take() }
                    if !atEnd { position += 1 }
                    emit(">")
                    return .opaque
                }
                understood = false
                return groupBody()
            case "#":
                // Comment: drop it.
                output.unicodeScalars.removeLast()
                while let s = peek(), s != ")" { position += 1 }
                if !atEnd { position += 1 }
                return nil
            default:
                // Inline flags: (?i) or (?i-s:...). Only i, m and s leave literals
                // alone; with anything else (x: free spacing) the scanner bows out.
                _ = take()
                while let s = peek(), s.properties.isAlphabetic || s == "-" {
                    if !["i", "m", "s", "-"].contains(s) { understood = false }
                    _ = take()
                }
                if peek() == ")" {
                    _ = take()
                    return .assertion
                }
                if peek() == ":" {
                    _ = take()
                    return groupBody()
                }
                understood = false
                return groupBody()
            }
        }

        /// Parses up to and including the closing parenthesis.
        mutating func groupBody() -> Node {
            let alternatives = parseAlternatives()
            if peek() == ")" {
                _ = take()
            } else {
                understood = false
            }
            return .group(alternatives)
        }

        mutating func parseQuantifier(into item: inout Quantified) {
            guard let c = peek() else { return }
            switch c {
            case "?": _ = take(); item.min = 0; item.max = 1
            case "*": _ = take(); item.min = 0; item.max = nil
            case "+": _ = take(); item.min = 1; item.max = nil
            case "{":
                guard let (lower, upper, length) = braceQuantifier() else { return }
                for _ in 0..<length { _ = take() }
                item.min = lower
                item.max = upper
            default:
                return
            }
            // Lazy or possessive suffix (ICU supports both).
            if let s = peek(), s == "?" || s == "+" { _ = take() }
        }

        /// `{n}`, `{n,}`, `{n,m}` at the current position: (min, max, scalar count).
        func braceQuantifier() -> (Int, Int?, Int)? {
            var i = position + 1
            func number() -> Int? {
                var value: Int?
                while i < scalars.count, let digit = scalars[i].properties.numericType != nil ? Int(String(scalars[i])) : nil {
                    value = (value ?? 0) * 10 + digit
                    i += 1
                }
                return value
            }
            guard let lower = number() else { return nil }
            var upper: Int? = lower
            if i < scalars.count, scalars[i] == "," {
                i += 1
                upper = number()
            }
            guard i < scalars.count, scalars[i] == "}" else { return nil }
            return (lower, upper, i + 1 - position)
        }
    }
}
