import Foundation
import PorterCore
@testable import PorterNumpy
import PorterTestSupport
import Testing

@Suite struct NumpyReaderTests {
    static let expected: [String: JSONValue] = (try? Fixtures.json("numpy/expected.json").objectValue) ?? [:]

    /// Every file numpy wrote reads back as np.load read it: names, dtypes, shapes, bytes.
    @Test(arguments: expected.keys.sorted())
    func arraysEqualWhatNumpyRead(_ file: String) throws {
        let url = Fixtures.url("numpy/" + file)
        let reader = NumpyReader()
        #expect(reader.probe(try ProbeInput.load(url)) == .certain)
        let model = try reader.read(url, options: ReadOptions())
        let want = try #require(Self.expected[file]?["tensors"]?.objectValue)
        #expect(Set(model.tensors.names) == Set(want.keys))
        for (name, w) in want {
            let t = try #require(model.tensors[name]).tensor
            #expect(t.dtype.rawValue == w["dtype"]?.stringValue, "\(file): \(name)")
            #expect(t.shape.dims == w["shape"]?.arrayValue?.compactMap(\.intValue), "\(file): \(name)")
            #expect(try tensorDigest(t) == w["sha256"]?.stringValue, "\(file): \(name) bytes")
        }
    }

    @Test func objectArraysAreRefused() throws {
        #expect(throws: NumpyError.objectArray(path: Fixtures.url("numpy/object.npy").path)) {
            try NumpyReader().read(Fixtures.url("numpy/object.npy"), options: ReadOptions())
        }
        // Scanned like any pickle, and at least review: numpy refuses it without allow_pickle.
        let object = try NumpyReader().scanPickles(of: Fixtures.url("numpy/object.npy"))
        #expect(object.verdict == .review)
        #expect(object.pickles == ["object.npy"])
        #expect(object.findings.contains { $0.reason.hasPrefix("object array") })
        let plain = try NumpyReader().scanPickles(of: Fixtures.url("numpy/f32.npy"))
        #expect(plain.verdict == .safe)
        #expect(plain.pickles.isEmpty)
        #expect(plain.notes.contains { $0.contains("holds no pickle") })
    }

    @Test func objectArraysWithAllowPickleBecomeTheirElements() throws {
        // [{"a": 1}, None]: no arrays inside, so no tensors, and no error.
        let model = try NumpyReader().read(Fixtures.url("numpy/object.npy"), options: ReadOptions(extra: ["allow-pickle": "true"]))
        #expect(model.tensors.isEmpty)
        #expect(model.notes.contains { $0.contains("allow-list pickle VM") })
    }

    /// Damaged headers and data: a typed error naming the file, never a crash.
    static func damage(_ label: String, _ b: [UInt8]) -> [UInt8] {
        var c = b
        switch label {
        case "truncated data": return Array(b.dropLast(5))
        case "version 9": c[6] = 9
        case "header length past the end": c[8] = 0xFF; c[9] = 0xFF
        case "no magic": c[1] = 0
        case "huge shape": return replace(b, "(3, 4)", "(99999999999, 99999999999)")
        case "negative shape": return replace(b, "(3, 4)", "(-3, 4)")
        case "structured dtype": return replace(b, "'<f4'", "[('a', '<f4')]")
        case "string dtype": return replace(b, "'<f4'", "'<U4'")
        default: return replace(b, "}", " ")
        }
        return c
    }

    @Test(arguments: ["truncated data", "version 9", "header length past the end", "no magic", "huge shape", "negative shape",
                      "structured dtype", "string dtype", "unterminated dict"])
    func malformedFilesAreTypedErrors(_ label: String) throws {
        let original = [UInt8](try Data(contentsOf: Fixtures.url("numpy/f32.npy")))
        let dir = try Fixtures.scratchDirectory("porter-npy")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bad.npy")
        try Data(Self.damage(label, original)).write(to: url)
        do {
            let model = try NumpyReader().read(url, options: ReadOptions())
            Issue.record("\(label): read \(model.tensors.names)")
        } catch let e as NumpyError {
            #expect(e.localizedDescription.contains(url.path), "\(label): \(e.localizedDescription)")
        }
    }

    static func replace(_ bytes: [UInt8], _ a: String, _ b: String) -> [UInt8] {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let r = text.range(of: a) else { return bytes }
        // Keep the header length: pad or cut the spaces before the newline that ends it.
        var s = text.replacingCharacters(in: r, with: b)
        let delta = b.utf8.count - a.utf8.count
        if delta > 0, let pad = s.range(of: String(repeating: " ", count: delta) + "\n") { s.replaceSubrange(pad, with: "\n") }
        if delta < 0, let nl = s.firstIndex(of: "\n") { s.insert(contentsOf: String(repeating: " ", count: -delta), at: nl) }
        return Array(s.utf8)
    }
}
