import Foundation
import Testing
import PorterCore
import PorterSafetensors
import PorterTestSupport
@testable import PorterMapping

/// Shipped mappings whose steps use config variables, against tensors the real tools made
/// (fixtures/mapping-vars, gen_mapping_vars.py): llama.cpp's q/k permute, and Keras'
/// DepthwiseConv2D next to PyTorch's Conv2d(groups=in).
@Suite struct MappingVariablesFixtureTests {
    func read(_ file: String, config: JSONValue = [:]) throws -> NeutralModel {
        var m = try SafetensorsReader().read(Fixtures.url("mapping-vars/\(file)"))
        m.config = config
        return m
    }

    /// Every tensor of `actual` has the bytes, dtype and shape of `expected`'s, and the names agree.
    func expectSameTensors(_ actual: TensorStore, _ expected: TensorStore, _ what: String) throws {
        #expect(actual.names.sorted() == expected.names.sorted(), "\(what)")
        for e in expected {
            let a = try #require(actual[e.name], "\(what): \(e.name) missing")
            #expect(a.tensor.dtype == e.tensor.dtype && a.tensor.shape == e.tensor.shape, "\(what): \(e.name)")
            #expect(try a.tensor.contiguousBytes() == e.tensor.contiguousBytes(), "\(what): \(e.name) differs")
        }
    }

    @Test("hf-llama-to-gguf permutes q/k exactly as llama.cpp's convert_hf_to_gguf.py, and gguf-to-hf-llama undoes it")
    func llamaPermuteMatchesLlamaCpp() throws {
        let config = try Fixtures.json("mapping-vars/llama-config.json")
        let hf = try read("llama-hf.safetensors", config: config)
        let gguf = try read("llama-gguf.safetensors", config: config)
        let toGGUF = try Mapping.resolve("hf-llama-to-gguf", searchPaths: [])
        let (mapped, acct) = try MappingEngine(toGGUF).apply(to: hf)
        #expect(acct.unmapped.isEmpty && acct.dropped.isEmpty)
        try expectSameTensors(mapped.tensors, gguf.tensors, "HF → GGUF")
        // The permutation is not the identity: q's bytes moved.
        #expect(try hf.tensors["model.layers.0.self_attn.q_proj.weight"]!.tensor.contiguousBytes()
                != mapped.tensors["blk.0.attn_q.weight"]!.tensor.contiguousBytes())
        // Concrete values in provenance: 4 heads for q, 2 kv heads for k (head_dim 4).
        #expect(mapped.tensors["blk.0.attn_k.weight"]!.provenance.transforms == [
            .rename(from: "model.layers.0.self_attn.k_proj.weight", to: "blk.0.attn_k.weight"),
            .reshape(shape: [2, 2, 2, 16]), .transpose(perm: [0, 2, 1, 3]), .reshape(shape: [8, 16]),
        ])
        #expect(mapped.tensors["blk.0.attn_q.bias"]!.provenance.transforms.dropFirst() == [.reshape(shape: [4, 2, 2]), .transpose(perm: [0, 2, 1]), .reshape(shape: [16])])

        let toHF = try Mapping.resolve("gguf-to-hf-llama", searchPaths: [])
        // From the tensors llama.cpp's formula wrote, and from Porter's own output.
        try expectSameTensors(try MappingEngine(toHF).apply(to: gguf).0.tensors, hf.tensors, "GGUF (recorded) → HF")
        try expectSameTensors(try MappingEngine(toHF).apply(to: mapped).0.tensors, hf.tensors, "HF → GGUF → HF")
        // A GGUF file's own metadata keys name the head counts too.
        var ggufKeys = gguf
        ggufKeys.config = ["llama.attention.head_count": 4, "llama.attention.head_count_kv": 2]
        try expectSameTensors(try MappingEngine(toHF).apply(to: ggufKeys).0.tensors, hf.tensors, "GGUF keys → HF")
    }

    @Test("with the wrong kv head count the result differs from llama.cpp's, and without any head count the mapping names the variable")
    func llamaNeedsTheRightHeadCounts() throws {
        let toGGUF = try Mapping.resolve("hf-llama-to-gguf", searchPaths: [])
        let gguf = try read("llama-gguf.safetensors")
        // No num_key_value_heads: kv_heads falls back to the query head count (as llama.cpp does when the key is absent).
        let (mha, _) = try MappingEngine(toGGUF).apply(to: try read("llama-hf.safetensors", config: ["num_attention_heads": 4]))
        #expect(try mha.tensors["blk.0.attn_q.weight"]!.tensor.contiguousBytes() == gguf.tensors["blk.0.attn_q.weight"]!.tensor.contiguousBytes())
        #expect(try mha.tensors["blk.0.attn_k.weight"]!.tensor.contiguousBytes() != gguf.tensors["blk.0.attn_k.weight"]!.tensor.contiguousBytes())
        do {
            _ = try MappingEngine(toGGUF).apply(to: try read("llama-hf.safetensors", config: ["hidden_size": 16]))
            Issue.record("mapped without head counts")
        } catch let MappingError.expression(_, rule, source, _, _, error) {
            #expect(toGGUF.rules[rule].match?.pattern.contains("_proj") == true)
            #expect(source.contains("self_attn."))
            // k_proj needs kv_heads, whose last alternative is heads; q_proj needs heads.
            let expected: [ExpressionError] = [.missingVariable(name: "heads", tried: ["num_attention_heads", "n_heads"]),
                                               .missingVariable(name: "kv_heads", tried: ["num_key_value_heads", "n_kv_heads", "num_attention_heads", "n_heads"])]
            #expect(expected.contains(error), "\(error)")
        }
    }

    @Test("keras-to-pytorch maps a DepthwiseConv2D kernel to the Conv2d(groups=in) weight PyTorch computes the Keras output with, and pytorch-to-keras maps it back")
    func depthwiseKerasToPyTorchAndBack() throws {
        let keras = try read("keras-depthwise.safetensors")
        let torch = try read("torch-depthwise.safetensors")
        let (pt, acct) = try MappingEngine(try Mapping.resolve("keras-to-pytorch", searchPaths: [])).apply(to: keras)
        #expect(acct.unmapped.isEmpty)
        try expectSameTensors(pt.tensors, torch.tensors, "Keras → PyTorch")
        #expect(pt.tensors["dw.weight"]!.provenance.transforms == [
            .rename(from: "dw/dw/depthwise_kernel:0", to: "dw.weight"), .transpose(perm: [2, 3, 0, 1]), .reshape(shape: [6, 1, 3, 2]),
        ])
        let back = try MappingEngine(try Mapping.resolve("pytorch-to-keras", searchPaths: []))
        var withMultiplier = torch
        withMultiplier.config = ["depth_multiplier": 2]
        try expectSameTensors(try back.apply(to: withMultiplier).0.tensors, keras.tensors, "PyTorch → Keras")
        // Without depth_multiplier the mapping takes 1: a [6, 1, 3, 2] weight becomes a [3, 2, 6, 1] kernel.
        #expect(try back.apply(to: torch).0.tensors["dw/dw/depthwise_kernel:0"]?.tensor.shape == [3, 2, 6, 1])
        // A weight whose second dim is not 1 is no depthwise weight: the reshape fails naming the rule.
        var notDepthwise = torch
        notDepthwise.tensors.set(TensorEntry(name: "dw.weight", tensor: counting([6, 2, 3, 2], label: "w"), provenance: Provenance(sourceFile: "t", sourceName: "dw.weight")))
        #expect(throws: MappingError.self) { _ = try back.apply(to: notDepthwise) }
    }

    @Test("pytorch-to-keras tells depthwise weights by the module's last name part", arguments: [
        ("stages.0.blocks.0.dwconv", true), ("features.3.conv_dw", true), ("dw_conv", true), ("block.dw1", true),
        ("depthwise_conv2d", true), ("sep.separable_conv", true), ("bandwidth", false), ("dw_stage.conv", false), ("features.0", false),
    ])
    func depthwiseWeightsByName(module: String, depthwise: Bool) throws {
        var store = TensorStore()
        try store.add(TensorEntry(name: "\(module).weight", tensor: counting([4, 1, 3, 3], label: "w"), provenance: Provenance(sourceFile: "t", sourceName: "w")))
        let (out, _) = try MappingEngine(try Mapping.resolve("pytorch-to-keras", searchPaths: [])).apply(to: NeutralModel(sourceFormat: "t", sourceFiles: [], tensors: store))
        let role = depthwise ? "depthwise_kernel:0" : "kernel:0"
        // Depthwise [in·M, 1, kh, kw] → [kh, kw, in, M]; a plain Conv2d OIHW → HWIO.
        #expect(out.tensors["\(module)/\(module)/\(role)"]?.tensor.shape == (depthwise ? [3, 3, 4, 1] : [3, 3, 1, 4]), "\(out.tensors.names)")
    }

    /// The mapped weight, run as a grouped convolution (groups = in, written out here), gives
    /// the output Keras recorded for its DepthwiseConv2D.
    @Test func groupedConvolutionOfTheMappedWeightGivesKerasOutput() throws {
        let (pt, _) = try MappingEngine(try Mapping.resolve("keras-to-pytorch", searchPaths: [])).apply(to: try read("keras-depthwise.safetensors"))
        let io = try read("depthwise-io.safetensors")
        let w = try pt.tensors["dw.weight"]!.tensor, b = try pt.tensors["dw.bias"]!.tensor.floatValues()
        let x = io.tensors["input"]!.tensor, y = io.tensors["keras_output"]!.tensor
        let (h, wd, cin) = (x.shape.dims[1], x.shape.dims[2], x.shape.dims[3])
        let (cout, kh, kw) = (w.shape.dims[0], w.shape.dims[2], w.shape.dims[3])
        #expect(w.shape.dims[1] == 1 && cout % cin == 0)
        let perGroup = cout / cin
        let xv = try x.floatValues(), wv = try w.floatValues(), yv = try y.floatValues()
        let (oh, ow) = (h - kh + 1, wd - kw + 1)
        #expect(y.shape == [1, oh, ow, cout])
        var maxDiff: Float = 0
        for oy in 0..<oh {
            for ox in 0..<ow {
                for o in 0..<cout {
                    var s = b[o]
                    for ky in 0..<kh { for kx in 0..<kw {
                        s += xv[((oy + ky) * wd + ox + kx) * cin + o / perGroup] * wv[(o * kh + ky) * kw + kx]
                    } }
                    maxDiff = max(maxDiff, abs(s - yv[(oy * ow + ox) * cout + o]))
                }
            }
        }
        #expect(maxDiff < 1e-5, "max abs diff \(maxDiff)")
    }
}
