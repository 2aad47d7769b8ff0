import Foundation
import PorterCore
import PorterTestSupport
import Testing

/// llama.cpp itself loaded the GGUF files Porter writes from fixtures/llama and agreed with
/// transformers (fixtures/generate/check_gguf_llamacpp_load.py, llama-cpp-python at fixture
/// time: top token at every position, max abs logit difference within the bound per dtype;
/// facts.llama_cpp_loads in fixtures/gguf/generator.json). These tests keep that result
/// honest without Python: Porter must still write exactly the bytes llama.cpp loaded.
@Suite struct LlamaCppLoadsCLITests {
    static let facts: JSONValue? = try? JSONValue.parse(Data(contentsOf: Fixtures.url("gguf/generator.json")))["facts"]?["llama_cpp_loads"]
    static let keys: [String] = facts?["files"]?.objectValue?.keys.sorted() ?? []
    /// Files llama.cpp loaded and agreed on whose bytes LlamaGGUFCLITests does not pin already.
    static let pinned: [String] = keys.filter { k in
        facts?["files"]?[k]?["ok"] == .bool(true) && ["-q4_0", "-q4_1", "-split"].contains { k.hasSuffix($0) }
    }

    /// What llama.cpp did with each file is recorded; every file it ran and passed is within its
    /// bound, and each f32 file gives transformers' top token at every position within 1e-4. The
    /// failures recorded are listed in docs/formats/gguf.md.
    @Test func llamaCppResultsAreRecorded() throws {
        let files = try #require(Self.facts?["files"]?.objectValue)
        #expect(files.count == 21)
        var ran = 0
        for (key, e) in files {
            guard e["with_vocab"] == .string("loads") else { continue }
            ran += 1
            let diff = try #require(e["max_abs_logit_diff"]?.doubleValue), bound = try #require(e["bound"]?.doubleValue)
            if e["ok"] == .bool(true) { #expect(diff <= bound, "\(key): \(diff) > \(bound)") }
            if key.hasSuffix("-f32") || key.hasSuffix("-f32-split") {
                #expect(e["top_token_agrees"] == .bool(true) && diff <= 1e-4, "\(key)")
            }
        }
        #expect(ran >= 16)
    }

    @Test(arguments: pinned)
    func porterStillWritesTheBytesLlamaCppLoaded(key: String) throws {
        let entry = try #require(Self.facts?["files"]?[key])
        let split = key.hasSuffix("-split")
        let stem = split ? String(key.dropLast("-split".count)) : key
        let dash = try #require(stem.range(of: "-", options: .backwards))
        let variant = String(stem[..<dash.lowerBound]), dtype = String(stem[dash.upperBound...])
        let dir = try Fixtures.scratchDirectory("porter-llamacpp-loads")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("\(key).gguf")
        var args = ["convert", Fixtures.url("llama/\(variant)").path, "--to", "gguf", "--dtype", dtype, "-o", out.path]
        if split { args += ["--max-shard-size", "20KB"] }
        let r = try CLI.run(args)
        #expect(r.status == 0, "\(key): \(r.stderr)")
        if let want = entry["splits"]?.objectValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
            #expect(names == want.keys.sorted(), "\(key)")
            for name in names {
                let digest = SHA256.hex([UInt8](try Data(contentsOf: out.appendingPathComponent(name))))
                #expect(want[name]?.stringValue == digest, "\(key)/\(name): not the bytes llama.cpp loaded (rerun check_gguf_llamacpp_load.py)")
            }
        } else {
            let digest = SHA256.hex([UInt8](try Data(contentsOf: out)))
            #expect(entry["sha256"]?.stringValue == digest, "\(key): not the bytes llama.cpp loaded (rerun check_gguf_llamacpp_load.py)")
        }
    }
}
