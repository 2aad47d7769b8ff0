import Foundation

/// SentencePiece's precompiled normalization rules (`normalizer_spec.precompiled_charsmap` of a
/// `tokenizer.model`, base64 in `tokenizer.json`'s `Precompiled` normalizer): a little-endian UInt32
/// byte count of a darts-clone double-array trie, the trie's 32-bit units, then a pool of
/// NUL-terminated UTF-8 replacement strings. A trie key is the UTF-8 of the text a rule replaces; its
/// value is the byte offset of the replacement in the pool (`nmt_nfkc`: NFKC plus NMT's whitespace and
/// control-character rules).
///
/// The two libraries apply the same rules differently, and Porter runs each one's way:
/// - sentencepiece (`tokenizer.model`): at each position the longest rule matching the text there
///   replaces what it matched; where none matches, one character is kept (`sentencePiece`).
/// - `tokenizers` (`Precompiled`): per extended grapheme cluster shorter than 6 UTF-8 bytes, the first
///   (shortest) rule that is a prefix of the cluster replaces the whole cluster; otherwise the same per
///   character of the cluster (`graphemes`).
///
/// Every trie index is bounds-checked, and walks are bounded by the key's length: a corrupt charsmap
/// gives a typed error at load or no match, never a read outside it.
public struct PrecompiledCharsmap: Sendable {
    let units: [UInt32]
    let pool: [UInt8]

    /// The largest charsmap accepted (sentencepiece's `nmt_nfkc` is about 240 KB).
    public static let maxBytes = 16 << 20

    public init(_ bytes: ArraySlice<UInt8>, file: String, path: String) throws {
        func bad(_ reason: String) -> TokenizerError { .invalidValue(file: file, path: path, reason: reason) }
        if bytes.count > Self.maxBytes { throw TokenizerError.tooLarge(file: file, path: path, count: bytes.count, limit: Self.maxBytes) }
        guard bytes.count >= 4 else { throw bad("a precompiled charsmap of \(bytes.count) bytes (it starts with a 4-byte trie size)") }
        let b = bytes.startIndex
        // A little-endian UInt32 at byte `o` (callers check that 4 bytes are there).
        func uint32(at o: Int) -> UInt32 {
            UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        let trieBytes = Int(uint32(at: b))
        guard trieBytes % 4 == 0, trieBytes >= 4, trieBytes <= bytes.count - 4 else {
            throw bad("the charsmap's trie size \(trieBytes) does not fit its \(bytes.count) bytes in 4-byte units")
        }
        var units = [UInt32](repeating: 0, count: trieBytes / 4)
        for k in units.indices { units[k] = uint32(at: b + 4 + 4 * k) }
        let pool = Array(bytes[(b + 4 + trieBytes)...])
        guard String(validating: pool, as: UTF8.self) != nil else { throw bad("the charsmap's replacement strings are not UTF-8") }
        self.units = units
        self.pool = pool
    }

    /// Decodes the base64 `precompiled_charsmap` of a `tokenizer.json`.
    public init(base64: String, file: String, path: String) throws {
        if base64.utf8.count > Self.maxBytes / 3 * 4 + 4 {
            throw TokenizerError.tooLarge(file: file, path: path, count: base64.utf8.count, limit: Self.maxBytes / 3 * 4 + 4)
        }
        guard let data = Data(base64Encoded: base64) else {
            throw TokenizerError.invalidValue(file: file, path: path, reason: "the precompiled charsmap is not base64")
        }
        try self.init([UInt8](data)[...], file: file, path: path)
    }

    // darts-clone's unit layout.
    @inline(__always) private static func hasLeaf(_ u: UInt32) -> Bool { (u >> 8) & 1 == 1 }
    @inline(__always) private static func value(_ u: UInt32) -> Int { Int(u & 0x7FFF_FFFF) }
    @inline(__always) private static func label(_ u: UInt32) -> UInt32 { u & (1 << 31 | 0xFF) }
    @inline(__always) private static func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }

    /// The rules whose keys are prefixes of `key`, shortest first: (pool offset, key length in bytes).
    func prefixMatches(_ key: ArraySlice<UInt8>, shortestOnly: Bool) -> [(value: Int, length: Int)] {
        var out: [(value: Int, length: Int)] = []
        var node = Self.offset(units[0])
        var length = 0
        for c in key {
            if c == 0 { break }
            node ^= Int(c)
            guard node >= 0, node < units.count else { break }
            let unit = units[node]
            guard Self.label(unit) == UInt32(c) else { break }
            node ^= Self.offset(unit)
            length += 1
            if Self.hasLeaf(unit) {
                guard node >= 0, node < units.count else { break }
                out.append((Self.value(units[node]), length))
                if shortestOnly { break }
            }
        }
        return out
    }

    /// The replacement string at a pool offset, as scalars (nil when the offset is outside the pool).
    func replacement(_ value: Int) -> [Unicode.Scalar]? {
        guard value >= 0, value <= pool.count else { return nil }
        var end = value
        while end < pool.count && pool[end] != 0 { end += 1 }
        guard let s = String(validating: pool[value..<end], as: UTF8.self) else { return nil }
        return Array(s.unicodeScalars)
    }

    /// `tokenizers`' `Precompiled` normalizer.
    func graphemes(_ t: inout NormalizedText) {
        var out = NormalizedText(scalars: [], starts: [], ends: [])
        out.scalars.reserveCapacity(t.count)
        var i = 0
        for cluster in t.string {
            let n = cluster.unicodeScalars.count
            let bytes = Array(cluster.utf8)
            if bytes.count < 6, let m = prefixMatches(bytes[...], shortestOnly: true).first, let r = replacement(m.value) {
                out.append(r, replacing: i..<(i + n), of: t)
            } else {
                var k = i
                for s in cluster.unicodeScalars {
                    if let m = prefixMatches(Array(s.utf8)[...], shortestOnly: true).first, let r = replacement(m.value) {
                        out.append(r, replacing: k..<(k + 1), of: t)
                    } else {
                        out.append([s], replacing: k..<(k + 1), of: t)
                    }
                    k += 1
                }
            }
            i += n
        }
        t = out
    }

    /// sentencepiece's normalizer: the longest rule at each position.
    func sentencePiece(_ t: inout NormalizedText) {
        var bytes: [UInt8] = []
        var scalarAt: [Int] = []  // byte offset → index of the scalar that starts there (-1 inside one)
        bytes.reserveCapacity(t.count)
        for (k, s) in t.scalars.enumerated() {
            scalarAt.append(k)
            scalarAt.append(contentsOf: repeatElement(-1, count: s.utf8.count - 1))
            bytes.append(contentsOf: s.utf8)
        }
        scalarAt.append(t.count)
        var out = NormalizedText(scalars: [], starts: [], ends: [])
        out.scalars.reserveCapacity(t.count)
        var b = 0
        while b < bytes.count {
            let k = scalarAt[b]
            // sentencepiece keeps the first 32 matches of its prefix search and takes the longest of them.
            if let m = prefixMatches(bytes[b...], shortestOnly: false).prefix(32).last, let r = replacement(m.value),
               b + m.length <= bytes.count, scalarAt[b + m.length] > k {
                let next = scalarAt[b + m.length]
                out.append(r, replacing: k..<next, of: t)
                b += m.length
            } else {
                out.append([t.scalars[k]], replacing: k..<(k + 1), of: t)
                b += t.scalars[k].utf8.count
            }
        }
        t = out
    }
}

extension NormalizedText {
    /// Appends `new` in place of the source scalars `old` of `source`: the k-th new scalar takes the
    /// alignment of the k-th old one, new scalars past the old count share the last old one's, and old
    /// scalars past the new count are removed (`tokenizers`: `é` composed from `e` + U+0301 is aligned
    /// with the `e` alone).
    mutating func append(_ new: [Unicode.Scalar], replacing old: Range<Int>, of source: NormalizedText) {
        let n = old.count
        for (k, s) in new.enumerated() {
            let src = old.lowerBound + Swift.min(k, n - 1)
            scalars.append(s)
            starts.append(source.starts[src])
            ends.append(source.ends[src])
        }
    }
}
