import Foundation
import Testing
@testable import PorterTokenizers

/// Porter's JSON reader for tokenizer files: object keys compared byte for byte, so a vocabulary holding
/// both the precomposed and the decomposed spelling of a character keeps both (Foundation's dictionaries
/// merged them: `"é" == "e\u{301}"` for Swift's String).
@Suite("tokenizer JSON reading")
struct JSONTextTests {
    @Test("a vocabulary holding é (NFC) and e + U+0301 (NFD) keeps both entries with their own ids")
    func canonicallyEquivalentKeys() throws {
        let nfc = "\u{E9}", nfd = "e\u{301}"
        #expect(nfc == nfd && !nfc.utf8.elementsEqual(nfd.utf8))  // why Swift's String cannot key a vocabulary
        let json = #"{"model": {"type": "BPE", "vocab": {"\#(nfc)": 0, "\#(nfd)": 1, "e": 2, "\u0301": 3, "x": 4}, "merges": ["e \u0301"]}}"#
        let tok = try TokenizerJSON.parse(Data(json.utf8), file: "t.json")
        #expect(tok.vocabSize == 5)
        #expect(try tok.encode(nfc).ids == [0])
        #expect(try tok.encode(nfd).ids == [1])
        #expect(try tok.encode("x" + nfd + nfc).ids == [4, 1, 0])
        #expect(tok.id(of: nfc) == 0 && tok.id(of: nfd) == 1)
        // The same keys spelled with escapes.
        let escaped = #"{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "\u00e9": 1, "\u0065\u0301": 2}}}"#
        let wp = try TokenizerJSON.parse(Data(escaped.utf8), file: "t.json")
        #expect(try wp.encode(nfc, addSpecialTokens: false).ids == [1])
        #expect(try wp.encode(nfd, addSpecialTokens: false).ids == [2])
    }

    @Test("object members keep file order; a key given twice keeps its last value")
    func orderAndDuplicates() throws {
        let o = try #require(try JSONText.parse(Data(#"{"b": 1, "a": [true, null, "x"], "b": 2}"#.utf8)) as? JSONObject)
        #expect(o.members.map(\.key) == ["b", "a"])
        #expect((o["b"] as? JSONNumber)?.text == "2")
        let a = try #require(o["a"] as? [Any])
        #expect(a[0] as? Bool == true && a[1] is NSNull && a[2] as? String == "x")
    }

    @Test("numbers are read from their text: ids exactly, scores correctly rounded")
    func numbers() throws {
        let json = #"{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0], ["a", -1.2345678901234567e-1], ["b", -2.5E+0]]}}"#
        _ = try TokenizerJSON.parse(Data(json.utf8), file: "t.json")
        let n = JSONNode(value: JSONNumber(text: "-0.12345678901234567"), path: "p", file: "f")
        #expect(try n.double() == -0.12345678901234567)
        #expect(try JSONNode(value: JSONNumber(text: "7"), path: "p", file: "f").int() == 7)
        #expect(try JSONNode(value: JSONNumber(text: "1e2"), path: "p", file: "f").int() == 100)
        #expect(throws: TokenizerError.self) { try JSONNode(value: JSONNumber(text: "1.5"), path: "p", file: "f").int() }
        #expect(throws: TokenizerError.self) { try JSONNode(value: JSONNumber(text: "99999999999999999999999"), path: "p", file: "f").int() }
        #expect(throws: TokenizerError.self) { try JSONNode(value: true, path: "p", file: "f").int() }
    }

    @Test("malformed JSON is a notJSON error naming the byte, never a crash", arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "{\"a\": tru}", "\"\\ud800\"", "\"\\udc00x\"", "\"a\u{01}b\"", "01", "1.", "-", "{} x",
        "\"\\q\"", "[\"\\u12\"]",
    ])
    func malformed(text: String) throws {
        #expect {
            try TokenizerJSON.parse(Data(text.utf8), file: "t.json")
        } throws: { e in
            guard case let TokenizerError.notJSON(file, reason)? = e as? TokenizerError else { return false }
            return file == "t.json" && reason.hasPrefix("byte ")
        }
    }

    @Test("invalid UTF-8 and nesting deeper than 512 are refused")
    func bytesAndDepth() throws {
        #expect(throws: TokenizerError.self) { try TokenizerJSON.parse(Data([0x22, 0xC3, 0x28, 0x22]), file: "t.json") }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect {
            try TokenizerJSON.parse(Data(deep.utf8), file: "t.json")
        } throws: { e in
            guard case let TokenizerError.notJSON(_, reason)? = e as? TokenizerError else { return false }
            return reason.contains("nested deeper than 512")
        }
        // A byte order mark before the text is allowed, as JSONSerialization allowed it.
        let bom = Data([0xEF, 0xBB, 0xBF]) + Data(#"{"model": {"type": "BPE", "vocab": {}, "merges": []}}"#.utf8)
        _ = try TokenizerJSON.parse(bom, file: "t.json")
    }
}
