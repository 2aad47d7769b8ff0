// Times `Verifier.verify` on a BERT-base-shaped model with random weights made here
// (nothing downloaded or committed): an f32 → f16 conversion (weights replayed with casts,
// both models run), and a copy with one query weight transposed (adds the traced re-run
// for the first-divergence search). Build with -c release:
//
//   swift build -c release --product porter-bench-verify && .build/release/porter-bench-verify [--layers 12]
//
// Prints one JSON object per case.
import Foundation
import PorterCore
import PorterVerifier
import PorterRuntime
import PorterArchitectures

var layers = 12
let args = Array(CommandLine.arguments.dropFirst())
if args.count == 2, args[0] == "--layers", let n = Int(args[1]), n > 0 { layers = n } else if !args.isEmpty {
    FileHandle.standardError.write(Data("usage: porter-bench-verify [--layers N]\n".utf8))
    exit(2)
}
let (hidden, intermediate, vocab) = (768, 3072, 30522)

/// Random f32 entries from xorshift64* (fast, seeded).
struct RandomWeights {
    var state: UInt64 = 0x2545F4914F6CDD1D
    mutating func callAsFunction(_ name: String, _ shape: [Int], fill: Float? = nil) -> TensorEntry {
    let count = shape.reduce(1, *)
    var values = [Float](repeating: fill ?? 0, count: count)
    if fill == nil {
        for k in 0..<count {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            values[k] = Float((state &* 2685821657736338717) >> 40) / Float(1 << 24) * 0.1 - 0.05
        }
    }
    return TensorEntry(name: name, tensor: .memory(values.withUnsafeBytes { [UInt8]($0) }, dtype: .f32, shape: Shape(shape), label: name),
                       provenance: Provenance(sourceFile: "random", sourceName: name))
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

do {
    var tensor = RandomWeights()
    var store = TensorStore()
    try store.add(tensor("embeddings.word_embeddings.weight", [vocab, hidden]))
    try store.add(tensor("embeddings.position_embeddings.weight", [512, hidden]))
    try store.add(tensor("embeddings.token_type_embeddings.weight", [2, hidden]))
    try store.add(tensor("embeddings.LayerNorm.weight", [hidden], fill: 1))
    try store.add(tensor("embeddings.LayerNorm.bias", [hidden], fill: 0))
    for l in 0..<layers {
        let p = "encoder.layer.\(l)."
        for m in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
            try store.add(tensor(p + m + ".weight", [hidden, hidden]))
            try store.add(tensor(p + m + ".bias", [hidden]))
        }
        try store.add(tensor(p + "intermediate.dense.weight", [intermediate, hidden]))
        try store.add(tensor(p + "intermediate.dense.bias", [intermediate]))
        try store.add(tensor(p + "output.dense.weight", [hidden, intermediate]))
        try store.add(tensor(p + "output.dense.bias", [hidden]))
        for n in ["attention.output.LayerNorm", "output.LayerNorm"] {
            try store.add(tensor(p + n + ".weight", [hidden], fill: 1))
            try store.add(tensor(p + n + ".bias", [hidden], fill: 0))
        }
    }
    let config: JSONValue = ["model_type": "bert", "hidden_size": 768, "num_hidden_layers": .int(Int64(layers)), "num_attention_heads": 12,
                             "intermediate_size": 3072, "vocab_size": 30522, "hidden_act": "gelu", "pad_token_id": 0]
    let source = NeutralModel(sourceFormat: "random", sourceFiles: ["random"], tensors: store, config: config)

    // f32 → f16, materialised as a writer would leave it on disk.
    var halfStore = TensorStore()
    var produced: [ConversionSummary.ProducedTensor] = []
    for e in store {
        let bytes = try e.tensor.cast(to: .f16, name: e.name).contiguousBytes()
        try halfStore.add(TensorEntry(name: e.name, tensor: .memory(bytes, dtype: .f16, shape: e.tensor.shape, label: e.name),
                                      provenance: Provenance(sourceFile: "half", sourceName: e.name)))
        produced.append(.init(name: e.name, sources: [e.name], transforms: [.cast(from: .f32, to: .f16)]))
    }
    var half = source
    half.tensors = halfStore
    var broken = source
    let q = "encoder.layer.\(layers / 2).attention.self.query.weight"
    if let e = store[q] {
        let t = try e.tensor.transposed([1, 0], name: q)
        broken.tensors.set(TensorEntry(name: q, tensor: .memory(try t.contiguousBytes(), dtype: .f32, shape: t.shape, label: q), provenance: e.provenance))
    }
    let verifier = Verifier()
    for (label, converted, summary) in [("f32→f16 cast", half, ConversionSummary(dtype: "f16", produced: produced)),
                                        ("one query weight transposed", broken, nil)] as [(String, NeutralModel, ConversionSummary?)] {
        // Where the time goes: loading each model into the runtime (weights widened to f32).
        var load = 0.0
        for m in [source, converted] {
            let graph = try ArchitectureRegistry.standard.buildGraph(config: m.config, tensorNames: Set(m.tensors.names))
            load += try seconds { _ = try GraphExecutor(graph: graph, weights: m.tensors) }
        }
        var report: VerificationReport?
        let w = seconds { _ = WeightsCheck.run(source: source, converted: converted, summary: summary) }
        let t = seconds { report = verifier.verify(source: source, converted: converted, summary: summary) }
        let r = report!
        let out: JSONValue = [
            "case": .string(label), "layers": .int(Int64(layers)), "parameters": .int(Int64(source.tensors.parameterCount)),
            "passed": .bool(r.passed), "first_divergence": r.forward.firstDivergence.map { .string($0.node) } ?? nil,
            "weights_seconds": .double((w * 1000).rounded() / 1000), "runtime_load_seconds": .double((load * 1000).rounded() / 1000), "seconds": .double((t * 1000).rounded() / 1000),
        ]
        print(String(decoding: try out.encoded(pretty: false), as: UTF8.self))
    }
} catch {
    FileHandle.standardError.write(Data("porter-bench-verify: \(error.localizedDescription)\n".utf8))
    exit(1)
}
