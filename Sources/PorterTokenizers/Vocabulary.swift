import Foundation

/// A token as a dictionary key compared byte for byte. Swift's `String` equality is canonical equivalence
/// (`"é" == "e\u{301}"`), which would let a decomposed piece of text find a precomposed vocabulary entry;
/// tokenizers compare bytes.
public struct TokenKey: Hashable, Sendable {
    public let string: String
    public init(_ s: String) { string = s }

    public static func == (a: TokenKey, b: TokenKey) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }

    public func hash(into h: inout Hasher) {
        var s = string
        s.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Token → id, exact (byte-wise) on the token.
public struct Vocabulary: Sendable, ExpressibleByDictionaryLiteral {
    public private(set) var map: [TokenKey: Int] = [:]

    public init() {}
    public init(dictionaryLiteral elements: (String, Int)...) { for (k, v) in elements { map[TokenKey(k)] = v } }
    public init(_ d: [String: Int]) { for (k, v) in d { map[TokenKey(k)] = v } }

    public subscript(_ token: String) -> Int? {
        get { map[TokenKey(token)] }
        set { map[TokenKey(token)] = newValue }
    }

    public var count: Int { map.count }
    public mutating func reserveCapacity(_ n: Int) { map.reserveCapacity(n) }
    /// (token, id) pairs, in no particular order.
    public var entries: [(String, Int)] { map.map { ($0.key.string, $0.value) } }
}

/// `s` split at the given scalars. Splitting a `String` by `Character` would miss a space followed by a
/// combining mark (`" \u{301}"` is one grapheme), so a merge `"e \u{301}"` has to be split by scalars.
public func splitScalars<S: StringProtocol>(_ s: S, separators: Set<Unicode.Scalar>, omittingEmpty: Bool) -> [String] {
    s.unicodeScalars.split(omittingEmptySubsequences: omittingEmpty, whereSeparator: { separators.contains($0) })
        .map { String(String.UnicodeScalarView($0)) }
}
