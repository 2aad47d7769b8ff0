import Foundation
import PorterCore
import Testing

@Suite struct JSONParserTests {
    @Test(arguments: [
        ("{\"a\":1,}", 7), ("{\"a\":1,\"a\":2}", 7), ("[01]", 2), ("{\"a\":\"\\x\"}", 8), ("{} x", 3),
        (String(repeating: "[", count: 100), 64),
    ])
    func rejectsWhatTheReferenceRejects(text: String, offset: Int) {
        do {
            _ = try JSONValue.parse(Array(text.utf8), rejectDuplicateKeys: true, maxDepth: 64)
            Issue.record("accepted \(text)")
        } catch let f as JSONParseError {
            #expect(f.offset == offset, "\(text): \(f.reason)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func keepsIntegersExactAndDecodesEscapes() throws {
        let v = try JSONValue.parse(Array(#"{"n":9007199254740993,"s":"\u00e9\ud83d\ude00\/","d":1.5}"#.utf8))
        #expect(v["n"] == .int(9_007_199_254_740_993))
        #expect(v["s"] == .string("é😀/"))
        #expect(v["d"] == .double(1.5))
    }

    /// Configs keep their number types through a parse/encode round trip (`1.0` is no int).
    @Test func wholeFloatsStayFloats() throws {
        let text = #"{"eps":1.0,"theta":10000.0,"big":1e3,"n":3,"neg":-0.0}"#
        let v = try JSONValue.parse(Data(text.utf8))
        #expect(v["eps"] == .double(1.0))
        #expect(v["theta"] == .double(10000))
        #expect(v["big"] == .double(1000))
        #expect(v["n"] == .int(3))
        let again = try JSONValue.parse(try v.encoded(pretty: false))
        #expect(again == v)
        #expect(String(decoding: try v.encoded(pretty: false), as: UTF8.self).contains(#""theta":10000.0"#))
    }

    /// Like Python's `json`, the general parser keeps the last of repeated keys; the
    /// safetensors header parser refuses them.
    @Test func duplicateKeysLastWinsUnlessRefused() throws {
        let text = Array(#"{"a":1,"a":2}"#.utf8)
        #expect(try JSONValue.parse(text)["a"] == .int(2))
        #expect(throws: JSONParseError(offset: 7, reason: "duplicate key 'a'")) { try JSONValue.parse(text, rejectDuplicateKeys: true) }
    }

    @Test func invalidUTF8AndNaNAreRefusedWithOffsets() {
        #expect(throws: JSONParseError(offset: 6, reason: "not UTF-8")) { try JSONValue.parse([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]) }
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Data(#"{"x":NaN}"#.utf8)) }
    }
}
