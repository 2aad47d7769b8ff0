import Foundation

/// Text being normalized and split, one Unicode scalar at a time, each scalar remembering the range of
/// original scalars it came from. Offsets Porter reports are scalar indices into the caller's text, the
/// way the Python `tokenizers` bindings report them (character offsets).
///
/// Alignment rules follow the `tokenizers` library: a scalar that replaces others takes the alignment of
/// the first scalar it replaces; a scalar inserted after another shares the alignment of the one before it;
/// one inserted at the very start shares the alignment of the first scalar.
public struct NormalizedText: Sendable, Equatable {
    public var scalars: [Unicode.Scalar]
    /// Original range (start, end) in scalars, per scalar of `scalars`.
    public var starts: [Int]
    public var ends: [Int]

    public init(_ text: Substring.UnicodeScalarView, offset: Int = 0) {
        scalars = Array(text)
        starts = Array(offset..<(offset + scalars.count))
        ends = starts.map { $0 + 1 }
    }

    public init(scalars: [Unicode.Scalar], starts: [Int], ends: [Int]) {
        self.scalars = scalars
        self.starts = starts
        self.ends = ends
    }

    public var isEmpty: Bool { scalars.isEmpty }
    public var count: Int { scalars.count }
    public var string: String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars)
        return String(s)
    }

    /// The original range of scalars `lo..<hi` of this text (the start of the next scalar for an empty range).
    public func originalRange(_ lo: Int, _ hi: Int) -> (Int, Int) {
        if lo >= hi {
            if lo < starts.count { return (starts[lo], starts[lo]) }
            let e = ends.last ?? 0
            return (e, e)
        }
        return (starts[lo], ends[hi - 1])
    }

    public func slice(_ lo: Int, _ hi: Int) -> NormalizedText {
        NormalizedText(scalars: Array(scalars[lo..<hi]), starts: Array(starts[lo..<hi]), ends: Array(ends[lo..<hi]))
    }

    /// Replaces every scalar by zero or more scalars; all of them share the alignment of the scalar they
    /// came from. Returning nil keeps the scalar unchanged.
    public mutating func mapScalars(_ f: (Unicode.Scalar) -> [Unicode.Scalar]?) {
        // Nothing is copied until the first scalar that changes (most text passes most normalizers unchanged).
        var i = 0
        var first: [Unicode.Scalar]?
        while i < scalars.count {
            if let out = f(scalars[i]) { first = out; break }
            i += 1
        }
        guard let firstOut = first else { return }
        var ns = Array(scalars[0..<i])
        var st = Array(starts[0..<i])
        var en = Array(ends[0..<i])
        ns.reserveCapacity(scalars.count + 8)
        st.reserveCapacity(scalars.count + 8)
        en.reserveCapacity(scalars.count + 8)
        for s in firstOut {
            ns.append(s)
            st.append(starts[i])
            en.append(ends[i])
        }
        var k = i + 1
        while k < scalars.count {
            if let out = f(scalars[k]) {
                for s in out {
                    ns.append(s)
                    st.append(starts[k])
                    en.append(ends[k])
                }
            } else {
                ns.append(scalars[k])
                st.append(starts[k])
                en.append(ends[k])
            }
            k += 1
        }
        scalars = ns
        starts = st
        ends = en
    }

    public mutating func filter(_ keep: (Unicode.Scalar) -> Bool) {
        mapScalars { keep($0) ? nil : [] }
    }

    /// Inserts `prefix` at the front, aligned with the first scalar; nothing happens to empty text.
    public mutating func prepend(_ prefix: [Unicode.Scalar]) {
        guard let s0 = starts.first, let e0 = ends.first, !prefix.isEmpty else { return }
        scalars.insert(contentsOf: prefix, at: 0)
        starts.insert(contentsOf: repeatElement(s0, count: prefix.count), at: 0)
        ends.insert(contentsOf: repeatElement(e0, count: prefix.count), at: 0)
    }

    /// Replaces the scalar ranges `matches` (sorted, disjoint) by `content`. As in `tokenizers`, the new
    /// scalars take the alignment of the last scalar they replace.
    public mutating func replace(_ matches: [Range<Int>], with content: [Unicode.Scalar]) {
        guard !matches.isEmpty else { return }
        var ns: [Unicode.Scalar] = []
        var st: [Int] = []
        var en: [Int] = []
        ns.reserveCapacity(scalars.count)
        st.reserveCapacity(scalars.count)
        en.reserveCapacity(scalars.count)
        var last = 0
        for m in matches {
            ns.append(contentsOf: scalars[last..<m.lowerBound])
            st.append(contentsOf: starts[last..<m.lowerBound])
            en.append(contentsOf: ends[last..<m.lowerBound])
            let (a, b): (Int, Int)
            if m.upperBound > 0 { (a, b) = (starts[m.upperBound - 1], ends[m.upperBound - 1]) } else { (a, b) = (0, 0) }
            for c in content {
                ns.append(c)
                st.append(a)
                en.append(b)
            }
            last = m.upperBound
        }
        ns.append(contentsOf: scalars[last...])
        st.append(contentsOf: starts[last...])
        en.append(contentsOf: ends[last...])
        scalars = ns
        starts = st
        ends = en
    }
}

/// What a split does with the pieces its pattern matched (`SplitDelimiterBehavior` in `tokenizers`).
public enum SplitBehavior: String, Sendable, CaseIterable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// Turns (range, isMatch) pieces covering a text into the ranges kept, per the behaviour.
    func apply(_ pieces: [(Range<Int>, Bool)]) -> [Range<Int>] {
        switch self {
        case .removed:
            return pieces.filter { !$0.1 }.map { $0.0 }
        case .isolated:
            return pieces.map { $0.0 }
        case .mergedWithPrevious:
            var out: [Range<Int>] = []
            var previousMatch = false
            for (r, m) in pieces {
                if m && !previousMatch, let last = out.last {
                    out[out.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    out.append(r)
                }
                previousMatch = m
            }
            return out
        case .mergedWithNext:
            var out: [Range<Int>] = []
            var previousMatch = false
            for (r, m) in pieces.reversed() {
                if m && !previousMatch, let last = out.last {
                    out[out.count - 1] = r.lowerBound..<last.upperBound
                } else {
                    out.append(r)
                }
                previousMatch = m
            }
            return out.reversed()
        case .contiguous:
            var out: [Range<Int>] = []
            var previousMatch = false
            for (r, m) in pieces {
                if m == previousMatch, let last = out.last {
                    out[out.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    out.append(r)
                }
                previousMatch = m
            }
            return out
        }
    }
}

extension NormalizedText {
    /// Splits by matched ranges (sorted, disjoint), keeping what `behavior` keeps; empty pieces are dropped.
    func split(matches: [Range<Int>], behavior: SplitBehavior, invert: Bool = false) -> [NormalizedText] {
        var pieces: [(Range<Int>, Bool)] = []
        var last = 0
        for m in matches where !m.isEmpty {
            if last < m.lowerBound { pieces.append((last..<m.lowerBound, invert)) }
            pieces.append((m, !invert))
            last = m.upperBound
        }
        if last < count { pieces.append((last..<count, invert)) }
        return behavior.apply(pieces).compactMap { $0.isEmpty ? nil : slice($0.lowerBound, $0.upperBound) }
    }

    /// Splits where `isDelimiter` holds, each delimiter scalar being one match.
    func split(where isDelimiter: (Unicode.Scalar) -> Bool, behavior: SplitBehavior) -> [NormalizedText] {
        var matches: [Range<Int>] = []
        for i in scalars.indices where isDelimiter(scalars[i]) { matches.append(i..<(i + 1)) }
        if matches.isEmpty { return isEmpty ? [] : [self] }
        return split(matches: matches, behavior: behavior)
    }

    /// Non-overlapping occurrences of `needle`, left to right.
    func occurrences(of needle: [Unicode.Scalar]) -> [Range<Int>] {
        guard !needle.isEmpty, needle.count <= count else { return [] }
        var out: [Range<Int>] = []
        var i = 0
        let first = needle[0]
        while i + needle.count <= count {
            if scalars[i] == first {
                var ok = true
                for k in 1..<needle.count where scalars[i + k] != needle[k] { ok = false; break }
                if ok {
                    out.append(i..<(i + needle.count))
                    i += needle.count
                    continue
                }
            }
            i += 1
        }
        return out
    }
}
