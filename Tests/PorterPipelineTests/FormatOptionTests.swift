import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterPipeline

/// Declared options: checking, families, values; the pipeline refuses undeclared keys
/// before it reads or writes anything.
@Suite struct FormatOptionTests {
    static let declared = [
        FormatOption("layout", .choice(["a", "b"]), default: "a", help: "h"),
        FormatOption("lower", .bool, help: "h"),
        FormatOption("config.", .json, help: "h"),
        FormatOption("file", .text("path"), help: "h"),
        .maxShardSize,
    ]

    func check(_ settings: [String: String]) throws {
        try FormatOption.check(settings, against: Self.declared, format: "x", direction: .read)
    }

    @Test func acceptsDeclaredKeysAndValues() throws {
        try check(["layout": "b", "lower": "false", "config.num_beams": "5", "config.name": "not json", "file": "", "max-shard-size": "5GiB"])
    }

    @Test func refusesUnknownKeysListingTheKnownOnes() {
        #expect(throws: FormatOptionError.unknownKey(format: "x", direction: .read, key: "config",
                                                     known: ["layout=a|b", "lower=true|false", "config.<key>=<json>", "file=<path>", "max-shard-size=<size>"])) {
            try check(["config": "1"])  // a family needs a member name
        }
        #expect(throws: FormatOptionError.self) { try check(["Layout": "a"]) }
    }

    @Test func refusesBadValues() {
        #expect(throws: FormatOptionError.badValue(format: "x", direction: .read, key: "layout", value: "c", expected: "one of a, b")) { try check(["layout": "c"]) }
        #expect(throws: FormatOptionError.badValue(format: "x", direction: .read, key: "lower", value: "yes", expected: "true or false")) { try check(["lower": "yes"]) }
        #expect(throws: FormatOptionError.self) { try check(["max-shard-size": "0"]) }
        #expect(throws: FormatOptionError.self) { try check(["max-shard-size": "-1MB"]) }
    }

    @Test func sizesParse() {
        #expect(FormatOption.parseSize("500MB") == 500_000_000)
        #expect(FormatOption.parseSize("1KiB") == 1024)
        #expect(FormatOption.parseSize("4096") == 4096)
        #expect(FormatOption.parseSize("lots") == nil)
        #expect(FormatOption.parseSize("1e300TB") == nil)
    }

    @Test func everyDefaultFormatDeclaresWellFormedOptions() {
        let registry = FormatRegistry.porterDefault
        for (id, options) in registry.readers.map({ ($0.info.id, $0.options) }) + registry.writers.map({ ($0.info.id, $0.options) }) {
            #expect(Set(options.map(\.key)).count == options.count, "\(id) declares a key twice")
            for o in options {
                #expect(!o.help.isEmpty)
                if let d = o.defaultValue { #expect(o.problem(with: d) == nil, "\(id) \(o.key): default \(d) is not a valid value") }
            }
        }
    }

    @Test func convertRefusesUnknownWriteOptionsBeforeReading() throws {
        let dir = try Fixtures.scratchDirectory("porter-opts")
        let request = ConvertRequest(source: dir.appendingPathComponent("missing.safetensors"), output: dir.appendingPathComponent("o.pt"),
                                     to: "pytorch", maxShardSize: 1000)
        // The source does not exist: the option error comes first.
        #expect(throws: FormatOptionError.unknownKey(format: "pytorch", direction: .write, key: "max-shard-size", known: [])) {
            try Pipeline().convert(request)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func readRefusesUndeclaredOptions() throws {
        let url = Fixtures.url("safetensors/valid/dtype_f32.safetensors")
        #expect(throws: FormatOptionError.self) { try Pipeline().read(url, options: ReadOptions(extra: ["checkpoint": "x"])) }
        _ = try Pipeline().read(url)
    }

    @Test func writeSettingsSplitShardSizeFromExtras() throws {
        let request = ConvertRequest(source: URL(fileURLWithPath: "/a"), output: URL(fileURLWithPath: "/b"), to: "safetensors",
                                     writeOptions: ["max-shard-size": "2KB", "metadata.k": "v"])
        let (size, extra) = try Pipeline.writeSettings(request, writer: try FormatRegistry.porterDefault.writer("safetensors"))
        #expect(size == 2000)
        #expect(extra == ["metadata.k": "v"])
    }
}

/// Probes see their surroundings only through `ProbeInput`.
@Suite struct ProbeInputTests {
    @Test func aFileCarriesItsSiblings() throws {
        let input = try ProbeInput.load(Fixtures.url("fairseq/separate/model.pt"))
        #expect(!input.isDirectory)
        #expect(input.siblings.contains("model.pt"))
        #expect(input.siblings.contains { $0.hasPrefix("dict.") })
        #expect(input.subfolders.isEmpty && input.entries.isEmpty)
    }

    @Test func aFolderCarriesItsSubfoldersListings() throws {
        let dir = try Fixtures.scratchDirectory("porter-probe")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("variables"), withIntermediateDirectories: true)
        try Data().write(to: dir.appendingPathComponent("variables/variables.index"))
        try Data().write(to: dir.appendingPathComponent("note.txt"))
        let input = try ProbeInput.load(dir)
        #expect(input.entries == ["variables", "note.txt"])
        #expect(input.subfolders == ["variables": ["variables.index"]])
        #expect(input.siblings.isEmpty)
    }

    @Test func probesDecideFromTheListingAlone() throws {
        // A made-up input: no such files exist, so a probe that looked at the disk would say no.
        let ghost = URL(fileURLWithPath: "/nonexistent/run/model.pt")
        let registry = FormatRegistry.porterDefault
        let fairseq = try #require(registry.readers.first { $0.info.id == "fairseq" })
        let pt = ProbeInput(url: ghost, isDirectory: false, head: [], size: 0, entries: [], siblings: ["model.pt", "dict.en.txt"])
        #expect(fairseq.probe(pt) == .likely)
        let tf = try #require(registry.readers.first { $0.info.id == "tensorflow-checkpoint" })
        let folder = ProbeInput(url: URL(fileURLWithPath: "/nonexistent/saved"), isDirectory: true, head: [], size: 0,
                                entries: ["variables"], subfolders: ["variables": ["variables.index", "variables.data-00000-of-00001"]])
        #expect(tf.probe(folder) == .certain)
        let index = ProbeInput(url: URL(fileURLWithPath: "/nonexistent/model.ckpt.index"), isDirectory: false, head: [], size: 100_000, entries: [],
                               siblings: ["model.ckpt.index", "model.ckpt.data-00000-of-00001"])
        #expect(tf.probe(index) == .certain)
        let prefix = ProbeInput(url: URL(fileURLWithPath: "/nonexistent/model.ckpt"), isDirectory: false, head: [], size: 1, entries: [],
                                siblings: ["model.ckpt", "model.ckpt.index"])
        #expect(tf.probe(prefix) == .certain)
    }
}
