import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterPipeline
#if canImport(Glibc)
import Glibc
#endif

/// `OutputLayout` (what `--force` may replace), the staging folder and the stale sweep,
/// in-process (docs/security.md (output safety)).
@Suite struct OutputLayoutTests {
    static func touch(_ url: URL, _ text: String = "x") throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    @Test func shardPatternsAreExact() {
        let s = OutputEntry.shards(base: "model", suffix: ".safetensors")
        #expect(s.matchesFile("model-00001-of-00002.safetensors"))
        #expect(s.matchesFile("model-000001-of-000010.safetensors"))
        #expect(!s.matchesFile("model-1-of-2.safetensors"))
        #expect(!s.matchesFile("model-00001-of-00002.safetensors.bak"))
        #expect(!s.matchesFile("model-0000a-of-00002.safetensors"))
        #expect(!s.matchesFile("other-00001-of-00002.safetensors"))
    }

    /// The default writers' layouts: Porter's own folders pass, a foreign file (top level
    /// or nested), a link or a kind mismatch fails with the first such entry.
    @Test func replaceableOnlyWhenEverythingIsDeclared() throws {
        let dir = try Fixtures.scratchDirectory("porter-layout")
        defer { try? FileManager.default.removeItem(at: dir) }
        let registry = FormatRegistry.porterDefault
        let model = NeutralModel(sourceFormat: "test", sourceFiles: [], assets: [Asset(kind: "vocab", fileName: "dict.en.txt", bytes: [1])])
        let hf = try registry.writer("hf").outputLayout(for: model, options: WriteOptions())
        let porter = try registry.writer("porter").outputLayout(for: model, options: WriteOptions())
        let single = try registry.writer("safetensors").outputLayout(for: model, options: WriteOptions())
        #expect(hf.isFolder && porter.isFolder && !single.isFolder)

        let a = dir.appendingPathComponent("hf")
        for n in ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json",
                  "tokenizer.json", "README.md", "dict.en.txt"] { try Self.touch(a.appendingPathComponent(n)) }
        try hf.checkReplaceable(a)
        try Self.touch(a.appendingPathComponent("notes.txt"))
        #expect(throws: OutputError.foreignEntry(target: a.path, entry: "notes.txt", producer: hf.producer)) { try hf.checkReplaceable(a) }
        // A file output does not replace it either, and names the first entry.
        #expect(throws: OutputError.kindMismatch(target: a.path, existingIsFolder: true, producer: single.producer, firstEntry: "README.md")) {
            try single.checkReplaceable(a)
        }

        let p = dir.appendingPathComponent("porter")
        for n in ["model.json", "weights.safetensors", "assets/dict.en.txt"] { try Self.touch(p.appendingPathComponent(n)) }
        try porter.checkReplaceable(p)
        try FileManager.default.createSymbolicLink(atPath: p.appendingPathComponent("assets/link").path, withDestinationPath: "/etc")
        #expect(throws: OutputError.foreignEntry(target: p.path, entry: "assets/link", producer: porter.producer)) { try porter.checkReplaceable(p) }

        let f = dir.appendingPathComponent("file.bin")
        try Self.touch(f)
        try single.checkReplaceable(f)
        #expect(throws: OutputError.kindMismatch(target: f.path, existingIsFolder: false, producer: hf.producer)) { try hf.checkReplaceable(f) }
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try single.checkReplaceable(empty)
    }

    /// While the body runs, the staging folder exists beside the target and is locked;
    /// a failing body leaves nothing; a forced write replaces a declared folder.
    @Test func stagingIsLockedAndCleanedUp() throws {
        let dir = try Fixtures.scratchDirectory("porter-staging")
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("out")
        struct Injected: Error {}
        #expect(throws: Injected.self) {
            try AtomicOutput.write(to: target, force: false) { temp in
                let folder = temp.deletingLastPathComponent()
                #expect(folder.lastPathComponent.hasPrefix(".out.porter-") && folder.lastPathComponent.hasSuffix(".tmp"))
                #expect(folder.deletingLastPathComponent().standardizedFileURL.path == dir.standardizedFileURL.path)
                let fd = open(folder.path, O_RDONLY | O_CLOEXEC)
                defer { close(fd) }
                #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0)
                try Self.touch(temp.appendingPathComponent("partial"))
                throw Injected()
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == [])

        let layout = OutputLayout.folder([.file("a")], producer: "test")
        try Self.touch(target.appendingPathComponent("a"), "old")
        try AtomicOutput.write(to: target, force: true, layout: layout) { temp in try Self.touch(temp.appendingPathComponent("a"), "new") }
        #expect(try String(contentsOf: target.appendingPathComponent("a"), encoding: .utf8) == "new")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out"])
    }

    /// The sweep removes unlocked leftovers of this target only, keeps locked ones, and
    /// never touches links or other names.
    @Test func staleSweep() throws {
        let dir = try Fixtures.scratchDirectory("porter-sweep")
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("out")
        let stale = dir.appendingPathComponent(".out.porter-0123abcd.tmp")
        try Self.touch(stale.appendingPathComponent("out/model.safetensors"), "0123456789")
        let staleFile = dir.appendingPathComponent(".out.porter-89abcdef.tmp")  // an older Porter's temp file
        try Self.touch(staleFile, "abc")
        let locked = dir.appendingPathComponent(".out.porter-fedcba98.tmp")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        let other = [".out.porter-notahex0.tmp", ".other.porter-0123abcd.tmp", "out.porter-0123abcd.tmp"]
        for n in other { try Self.touch(dir.appendingPathComponent(n)) }
        let link = dir.appendingPathComponent(".out.porter-aaaaaaaa.tmp")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: stale.path)

        let fd = open(locked.path, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0 && flock(fd, LOCK_EX) == 0)
        defer { close(fd) }
        let report = AtomicOutput.removeStaleTemporaries(of: target)
        #expect(report.removed == [.init(path: stale.path, bytes: 10), .init(path: staleFile.path, bytes: 3)])
        #expect(report.kept == [locked.path])
        #expect(report.failed.isEmpty)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        #expect(left == Set(other + [locked.lastPathComponent, link.lastPathComponent]))
    }
}
