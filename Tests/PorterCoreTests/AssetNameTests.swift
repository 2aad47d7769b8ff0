import PorterCore
import Testing

/// Asset names stay inside their folder: a plain name, or one plain folder and a plain name.
@Suite struct AssetNameTests {
    @Test(arguments: [("vocab.txt", ["vocab.txt"]), ("1_Pooling/config.json", ["1_Pooling", "config.json"])])
    func accepted(name: String, parts: [String]) {
        #expect(Asset.pathComponents(of: name) == parts)
    }

    @Test(arguments: ["", "/etc/passwd", "../x", "a/../b", "a/b/c", "a//b", "a/", "./x", "a\\b", "x/..", "a/\0b"])
    func refused(name: String) {
        #expect(Asset.pathComponents(of: name) == nil)
    }

    @Test func entriesGroupOneFolderLevel() {
        let entries = Asset.outputEntries(["vocab.txt", "1_Pooling/config.json", "../bad", "1_Pooling/b.json"])
        #expect(entries == [.file("vocab.txt"), .folder("1_Pooling", contents: [.file("config.json"), .file("b.json")])])
    }
}
