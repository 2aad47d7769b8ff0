import Foundation
import PorterCore
import PorterTestSupport
import Testing

/// llama.cpp itself loaded the GGUF files Porter writes from fixtures/llama and fixtures/gguf/families
/// and agreed with transformers (fixtures/generate/check_gguf_llamacpp_load.py, llama-cpp-python at
/// fixture time; facts.llama_cpp_loads in fixtures/gguf/generator.json). These tests keep that result
/// honest without Python: what was recorded meets the bounds, and Porter must still write exactly
/// the bytes llama.cpp loaded.
@Suite struct LlamaCppLoadsCLITests {
    static let facts: JSONValue? = try? JSONValue.parse(Data(contentsOf: Fixtures.url("gguf/generator.json")))["facts"]?["llama_cpp_loads"]
    static let keys: [String] = facts?["files"]?.objectValue?.keys.sorted() ?? []
    /// Every file llama.cpp loaded and agreed on.
    static let pinned: [String] = keys.filter { facts?["files"]?[$0]?["ok"] == .bool(true) && facts?["files"]?[$0]?["with_vocab"] != nil }
    /// Where each variant's checkpoint is (as the script's SOURCES).
    static func source(_ variant: String) -> String { ["qwen2", "gemma", "gemma2"].contains(variant) ? "gguf/families/\(variant)" : "llama/\(variant)" }

    /// Refused by Porter (naming the key), so never loaded: Qwen2 with q wider than hidden, Gemma 2
    /// with a query_pre_attn_scalar other than head_dim.
    static let refused: Set<String> = ["qwen2-wide-f32", "gemma2-window-f32"]

    /// Every file llama.cpp was given loaded, gave the top token of transformers on the file's own
    /// weights (the folder `--to hf` writes back) at every position within its bound, and, for float
    /// files, transformers' top token on the original within 1e-4 (f32; 1e-3 for Gemma's f32, whose
    /// GELU ggml computes through an f16 table, and then exactly llama.cpp's own converter's logits) —
    /// except past a length llama.cpp does not model — a Mistral sliding window, dynamic NTK rope —
    /// where the file is written with a note saying so and the difference recorded.
    @Test func llamaCppResultsAreRecorded() throws {
        let files = try #require(Self.facts?["files"]?.objectValue)
        #expect(files.count == 36)
        #expect(Self.facts?["failures"]?.arrayValue == [])
        var ran = 0
        for key in Self.refused {
            #expect(files[key]?["ok"] == .bool(true) && files[key]?["porter_refused"] != nil, "\(key)")
        }
        #expect(files["mistral-window-f32"]?["differs_as_noted"] == .bool(true) && files["llama-rope-dynamic-f32"]?["differs_as_noted"] == .bool(true))
        for (key, e) in files where !Self.refused.contains(key) {
            #expect(e["with_vocab"] == .string("loads") && e["ok"] == .bool(true), "\(key)")
            ran += 1
            let deq = try #require(e["vs_dequantized"], "\(key)")
            let d = try #require(deq["max_abs_logit_diff"]?.doubleValue), db = try #require(deq["bound"]?.doubleValue)
            #expect(deq["top_token_agrees"] == .bool(true) && d <= db, "\(key): \(d) > \(db)")
            let diff = try #require(e["max_abs_logit_diff"]?.doubleValue), bound = try #require(e["bound"]?.doubleValue)
            if e["differs_as_noted"] == .bool(true) { continue }
            if e["bound_required"] == .bool(true) { #expect(e["top_token_agrees"] == .bool(true) && diff <= bound, "\(key): \(diff) > \(bound)") }
            if key.hasSuffix("-f32") || key.hasSuffix("-f32-split") {
                let gemma = key.hasPrefix("gemma")
                #expect(e["top_token_agrees"] == .bool(true) && diff <= (gemma ? 1e-3 : 1e-4), "\(key)")
                if gemma { #expect(e["same_logits_as_llamacpp_converter"] == .bool(true), "\(key)") }
            }
        }
        #expect(ran == 34)
    }

    @Test func dynamicRopeAndSlidingWindowAreNoted() throws {
        let dir = try Fixtures.scratchDirectory("porter-llamacpp-notes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = try CLI.run(["convert", Fixtures.url("llama/llama-rope-dynamic").path, "--to", "gguf", "-o", dir.appendingPathComponent("d.gguf").path])
        #expect(d.status == 0 && (d.stdout + d.stderr).contains("note: GGUF: llama.cpp has no dynamic NTK rope scaling"), "\(d.stdout)")
        let w = try CLI.run(["convert", Fixtures.url("llama/mistral-window").path, "--to", "gguf", "-o", dir.appendingPathComponent("w.gguf").path])
        #expect(w.status == 0 && (w.stdout + w.stderr).contains("note: GGUF: llama.cpp's llama architecture has no sliding-window attention"), "\(w.stdout)")
        // Neither applies: no note.
        let m = try CLI.run(["convert", Fixtures.url("llama/llama").path, "--to", "gguf", "-o", dir.appendingPathComponent("m.gguf").path])
        #expect(m.status == 0 && !(m.stdout + m.stderr).contains("note: GGUF:"))
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
        var args = ["convert", Fixtures.url(Self.source(variant)).path, "--to", "gguf", "--dtype", dtype, "-o", out.path]
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
