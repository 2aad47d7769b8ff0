import Foundation
import Testing
import PorterCore
@testable import PorterFairseq

@Suite struct DictionaryTests {
    @Test func specialsComeFirstAndLinesStartAtFour() throws {
        let d = try FairseqDictionary(text: "the 10\nhel@@ 4\nlo 3\n", file: "dict.txt")
        #expect(Array(d.symbols.prefix(4)) == ["<s>", "<pad>", "</s>", "<unk>"])
        #expect(d.index(of: "the") == 4)
        #expect(d.index(of: "hel@@") == 5)
        #expect(d.index(of: "lo") == 6)
        #expect(d.index(of: "absent") == FairseqDictionary.unkIndex)
        #expect(d.counts[5] == 4)
        #expect(d.count == 7)
        #expect(d.encode("the lo missing") == [4, 6, 3, 2])
    }

    @Test func overwriteFlagAppendsAndRepoints() throws {
        let d = try FairseqDictionary(text: "a 5\nb 4\na 3 #fairseq:overwrite\n", file: "dict.txt")
        // The repeat takes index 6; index 4 keeps its symbol; the name now means 6.
        #expect(d.symbols == ["<s>", "<pad>", "</s>", "<unk>", "a", "b", "a"])
        #expect(d.index(of: "a") == 6)
        #expect(d.counts[6] == 3)
        // An overwritten special, as CamemBERT's dictionary does.
        let s = try FairseqDictionary(text: "<unk> 1 #fairseq:overwrite\nx 1\n", file: "dict.txt")
        #expect(s.index(of: "<unk>") == 4)
        #expect(s.index(of: "x") == 5)
    }

    @Test func duplicateTokenNamesTheLine() {
        #expect(throws: FairseqError.duplicateToken(file: "dict.en.txt", line: 3, token: "a", firstIndex: 4)) {
            try FairseqDictionary(text: "a 5\nb 4\na 3\n", file: "dict.en.txt")
        }
        // A special symbol in the file is a duplicate too.
        #expect(throws: FairseqError.duplicateToken(file: "d", line: 1, token: "</s>", firstIndex: 2)) {
            try FairseqDictionary(text: "</s> 9\n", file: "d")
        }
    }

    @Test(arguments: [
        ("a 1\nnocount\n", 2),
        ("a 1\nb x\n", 2),
        ("a 1.5\n", 1),
        ("\n", 1),
        ("a 1\n\nb 2\n", 2),
        ("a 1 #fairseq:overwrite\nb #fairseq:overwrite\n", 2),
        ("a 99999999999999999999999\n", 1),
        ("a 1__0\n", 1),
    ])
    func malformedLineNamesTheLine(text: String, line: Int) {
        do {
            _ = try FairseqDictionary(text: text, file: "dict.txt")
            Issue.record("expected an error for \(text.debugDescription)")
        } catch let FairseqError.malformedDictionaryLine(file, l, _) {
            #expect(file == "dict.txt")
            #expect(l == line)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func countsFollowPythonInt() throws {
        let d = try FairseqDictionary(text: "a 1_000\nb -3\nc +7\nd 12  \r\n", file: "d")
        #expect(d.counts.suffix(4) == [1000, -3, 7, 12])
        #expect(d.index(of: "d") == 7)
        // Tokens may hold spaces: only the last field is the count.
        let s = try FairseqDictionary(text: "a b 2\n", file: "d")
        #expect(s.index(of: "a b") == 4)
    }

    @Test func paddingAddsMadeUpWords() throws {
        var d = try FairseqDictionary(text: "a 1\nmadeupword0001 0\n", file: "d")
        d.padWithMadeUpWords(to: 10)
        #expect(d.count == 10)
        // madeupword0001 already exists, so the next new one is 0002 (fairseq's add_symbol).
        #expect(Array(d.symbols.suffix(4)) == ["madeupword0000", "madeupword0002", "madeupword0003", "madeupword0004"])
        #expect(d.paddingSymbolCount == 4)
    }

    @Test func errorMessageNamesFileAndLine() {
        let e = FairseqError.duplicateToken(file: "/m/dict.ru.txt", line: 17, token: "и", firstIndex: 9)
        #expect(e.localizedDescription.contains("/m/dict.ru.txt:17"))
        #expect(e.localizedDescription.contains("#fairseq:overwrite"))
    }
}

@Suite struct BPECodesTests {
    @Test func fastBPECountsAreDroppedInMerges() throws {
        let codes = try BPECodes(text: "e r</w> 120\nt h 98\nth e</w> 40\n", file: "bpecodes")
        #expect(codes.merges.count == 3)
        #expect(codes.merges[0] == .init(left: "e", right: "r</w>", count: 120))
        #expect(codes.mergesText() == "e r</w>\nt h\nth e</w>\n")
    }

    @Test func subwordNMTHeaderAndPairs() throws {
        let codes = try BPECodes(text: "#version: 0.2\na b\nab c</w>\n", file: "codes")
        #expect(codes.merges.map(\.count) == [nil, nil])
        #expect(codes.mergesText() == "a b\nab c</w>\n")
    }

    @Test(arguments: [("a b 3\nonly\n", 2), ("a b c d\n", 1), ("a b -1\n", 1), ("a b x\n", 1), ("a b 1\n\n", 2)])
    func malformedCodesNameTheLine(text: String, line: Int) {
        #expect(throws: FairseqError.malformedBPECodesLine(file: "bpecodes", line: line, text: String(text.split(separator: "\n", omittingEmptySubsequences: false)[line - 1]))) {
            try BPECodes(text: text, file: "bpecodes")
        }
    }
}

@Suite struct VocabularyRewriteTests {
    @Test func continuationMarksAndWordEnds() throws {
        let d = try FairseqDictionary(text: "hel@@ 3\nlo 2\n, 1\n", file: "d")
        let v = try FSMTVocabulary(dictionary: d, file: "d")
        #expect(v.ids == ["<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "hel": 4, "lo</w>": 5, ",</w>": 6])
    }

    @Test func collisionIsAnError() throws {
        // `x</w>@@` loses its mark and becomes `x</w>`, which `x` also becomes.
        let d = try FairseqDictionary(text: "x</w>@@ 3\nx 2\n", file: "d")
        #expect(throws: FairseqError.vocabularyCollision(file: "d", token: "x", rewritten: "x</w>", otherIndex: 4)) {
            try FSMTVocabulary(dictionary: d, file: "d")
        }
    }

    @Test func overwrittenNameKeepsItsLastIndex() throws {
        let d = try FairseqDictionary(text: "a 5\na 3 #fairseq:overwrite\n", file: "d")
        let v = try FSMTVocabulary(dictionary: d, file: "d")
        #expect(v.ids["a</w>"] == 5)
        #expect(v.ids.count == 5)
    }

    @Test func jsonIsSortedAndUnescaped() throws {
        let d = try FairseqDictionary(text: "при@@ 3\nвет 2\n", file: "d")
        let text = String(decoding: try FSMTVocabulary(dictionary: d, file: "d").jsonBytes(), as: UTF8.self)
        #expect(text.contains("\"при\" : 4") || text.contains("\"при\": 4"))
        let parsed = try JSONValue.parse(Data(text.utf8))
        #expect(parsed["вет</w>"]?.intValue == 5)
    }
}
