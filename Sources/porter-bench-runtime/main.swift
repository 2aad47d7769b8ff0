// Times Porter's runtime on a BERT-base-shaped encoder with random weights made here
// (nothing downloaded or committed). Used by bench/runtime_bert_base.sh, which runs
// PyTorch on the same shapes in the same session.
//
//   porter-bench-runtime [--batch 8] [--seq 128] [--layers 12] [--iterations 5] [--warmup 1]
//
// Prints one JSON object: per-iteration seconds, median and min. Build with -c release.
import Foundation
import PorterArchitectures
import PorterCore
import PorterRuntime

struct Options {
    var batch = 8, seq = 128, layers = 12, iterations = 5, warmup = 1
    var hidden = 768, heads = 12, intermediate = 3072, vocab = 30522

    init(_ args: [String]) throws {
        var i = 0
        func next() throws -> Int {
            i += 1
            guard i < args.count, let v = Int(args[i]), v >= 0 else { throw UsageError(message: "\(args[i - 1]) needs a non-negative integer") }
            return v
        }
        while i < args.count {
            switch args[i] {
            case "--batch": batch = try next()
            case "--seq": seq = try next()
            case "--layers": layers = try next()
            case "--iterations": iterations = try next()
            case "--warmup": warmup = try next()
            case "-h", "--help":
                print("usage: porter-bench-runtime [--batch N] [--seq N] [--layers N] [--iterations N] [--warmup N]")
                exit(0)
            default: throw UsageError(message: "unknown argument \(args[i])")
            }
            i += 1
        }
    }
}

struct UsageError: Error { let message: String }

/// xorshift64*: fast, seeded, good enough for benchmark weights.
struct Random {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return state &* 2685821657736338717
    }
    /// Uniform in [-scale, scale).
    mutating func uniform(_ scale: Float) -> Float {
        Float(next() >> 40) / Float(1 << 24) * 2 * scale - scale
    }
}

/// User + system CPU time of this process (all threads), in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func entry(_ name: String, _ shape: [Int], _ rng: inout Random, fill: Float? = nil) -> TensorEntry {
    let count = shape.reduce(1, *)
    var values = [Float](repeating: fill ?? 0, count: count)
    if fill == nil { for k in 0..<count { values[k] = rng.uniform(0.05) } }
    let bytes = values.withUnsafeBytes { [UInt8]($0) }
    return TensorEntry(name: name, tensor: .memory(bytes, dtype: .f32, shape: Shape(shape), label: name),
                       provenance: Provenance(sourceFile: "random", sourceName: name))
}

func bertWeights(_ o: Options) throws -> TensorStore {
    var rng = Random(state: 0x9E3779B97F4A7C15)
    var store = TensorStore()
    let h = o.hidden
    try store.add(entry("embeddings.word_embeddings.weight", [o.vocab, h], &rng))
    try store.add(entry("embeddings.position_embeddings.weight", [512, h], &rng))
    try store.add(entry("embeddings.token_type_embeddings.weight", [2, h], &rng))
    try store.add(entry("embeddings.LayerNorm.weight", [h], &rng, fill: 1))
    try store.add(entry("embeddings.LayerNorm.bias", [h], &rng, fill: 0))
    for l in 0..<o.layers {
        let p = "encoder.layer.\(l)."
        for m in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
            try store.add(entry(p + m + ".weight", [h, h], &rng))
            try store.add(entry(p + m + ".bias", [h], &rng))
        }
        try store.add(entry(p + "intermediate.dense.weight", [o.intermediate, h], &rng))
        try store.add(entry(p + "intermediate.dense.bias", [o.intermediate], &rng))
        try store.add(entry(p + "output.dense.weight", [h, o.intermediate], &rng))
        try store.add(entry(p + "output.dense.bias", [h], &rng))
        for n in ["attention.output.LayerNorm", "output.LayerNorm"] {
            try store.add(entry(p + n + ".weight", [h], &rng, fill: 1))
            try store.add(entry(p + n + ".bias", [h], &rng, fill: 0))
        }
    }
    return store
}

do {
    let o = try Options(Array(CommandLine.arguments.dropFirst()))
    let config: JSONValue = ["model_type": "bert", "hidden_size": .int(Int64(o.hidden)), "num_hidden_layers": .int(Int64(o.layers)),
                             "num_attention_heads": .int(Int64(o.heads)), "intermediate_size": .int(Int64(o.intermediate)),
                             "vocab_size": .int(Int64(o.vocab)), "hidden_act": "gelu", "layer_norm_eps": 1e-12]
    let weights = try bertWeights(o)
    let graph = try ArchitectureRegistry.standard.buildGraph(config: config, tensorNames: Set(weights.names))
    let executor = try GraphExecutor(graph: graph, weights: weights)
    var rng = Random(state: 42)
    let n = o.batch * o.seq
    let inputs: [String: HostTensor] = [
        "input_ids": HostTensor(shape: [o.batch, o.seq], int64s: (0..<n).map { _ in Int64(rng.next() % UInt64(o.vocab)) }),
        "attention_mask": HostTensor(shape: [o.batch, o.seq], int64s: [Int64](repeating: 1, count: n)),
        "token_type_ids": HostTensor(shape: [o.batch, o.seq], int64s: [Int64](repeating: 0, count: n)),
    ]
    for _ in 0..<o.warmup { _ = try executor.run(inputs) }
    var times: [Double] = [], cpuTimes: [Double] = []
    var checksum: Double = 0
    for _ in 0..<o.iterations {
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = processCPUSeconds()
        let result = try executor.run(inputs)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        cpuTimes.append(processCPUSeconds() - cpuStart)
        checksum = result.outputs["last_hidden_state"]!.floatValues.prefix(1000).reduce(0) { $0 + Double(abs($1)) }
        guard checksum.isFinite else { throw UsageError(message: "output is not finite") }
    }
    let sorted = times.sorted()
    let report: JSONValue = [
        "engine": "porter", "model": "bert-base (random weights)", "batch": .int(Int64(o.batch)), "seq": .int(Int64(o.seq)),
        "layers": .int(Int64(o.layers)), "threads": .int(Int64(ProcessInfo.processInfo.activeProcessorCount)),
        "seconds": .array(times.map { .double(($0 * 1e4).rounded() / 1e4) }),
        "median": .double((sorted[sorted.count / 2] * 1e4).rounded() / 1e4), "min": .double((sorted[0] * 1e4).rounded() / 1e4),
        "cpu_seconds_median": .double((cpuTimes.sorted()[cpuTimes.count / 2] * 1e4).rounded() / 1e4),
    ]
    print(String(decoding: try report.encoded(pretty: false), as: UTF8.self))
} catch let e as UsageError {
    FileHandle.standardError.write(Data("porter-bench-runtime: \(e.message)\n".utf8))
    exit(2)
} catch {
    FileHandle.standardError.write(Data("porter-bench-runtime: \(error.localizedDescription)\n".utf8))
    exit(1)
}
