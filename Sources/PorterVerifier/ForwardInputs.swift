import Foundation
import PorterCore
import PorterRuntime
import PorterArchitectures

/// Makes the seeded inputs of the forward level from a graph's input list.
///
/// Each input's role comes from the model's architecture descriptor (`InputSpec.role`;
/// `roles` when given, else the standard registry's descriptor of `config`);
/// for a graph without one (a Keras or SavedModel graph), inputs read by `attention_mask`
/// nodes are masks, and the rest are ids drawn from the table they index.
///
/// - `.tokens` and `.categories` draw ids uniformly from `[0, rows)` of the smallest
///   table they index (else `[0, config.vocab_size)` for tokens);
/// - `.mask` inputs are all ones except the last `max(1, seq/4)` positions of the last
///   row (padding), where `.tokens` inputs get `config.pad_token_id`;
/// - int64 inputs that index no table are zeros; float inputs are uniform in [-1, 1).
///
/// Dynamic dimensions (-1) become `batch` for the first axis and `sequence` elsewhere.
public enum ForwardInputs {
    public static func make(graphs: [Graph], weights: [TensorStore], config: JSONValue, batch: Int, sequence: Int,
                            seed: UInt64, roles: [String: InputRole]? = nil) -> ([String: HostTensor], [InputDescription]) {
        let roles = roles ?? ArchitectureRegistry.standard.descriptor(for: config).flatMap { d in
            (try? d.inputSpecs(config: config)).map { specs in Dictionary(specs.map { ($0.name, $0.role) }, uniquingKeysWith: { a, _ in a }) }
        } ?? [:]
        var rng = SeededGenerator(seed: seed)
        var inputs: [String: HostTensor] = [:]
        var described: [InputDescription] = []
        var seen = Set<String>()
        let padRows = batch > 1 ? 1 : 0
        let padLength = max(1, sequence / 4)
        let padToken = config["pad_token_id"]?.intValue
        let all = graphs.flatMap(\.inputs).filter { seen.insert($0.name).inserted }
        for value in all {
            let shape = value.shape.enumerated().map { i, d in d >= 0 ? d : (i == 0 ? batch : sequence) }
            let count = shape.reduce(1, *)
            let role = roles[value.name]
            let masks = role.map { $0 == .mask } ?? graphs.contains { g in g.nodes.contains { $0.op == "attention_mask" && $0.inputs.first == value.name } }
            if value.dtype.isFloatingPoint {
                let floats = (0..<count).map { _ in rng.nextSignedUnit() }
                inputs[value.name] = HostTensor(shape: shape, floats: floats)
                described.append(InputDescription(name: value.name, dtype: "f32", shape: shape, origin: "seeded uniform in [-1, 1)"))
                continue
            }
            if masks {
                var v = [Int64](repeating: 1, count: count)
                if shape.count == 2, padRows > 0 {
                    let (rows, seq) = (shape[0], shape[1])
                    for j in max(0, seq - padLength)..<seq { v[(rows - 1) * seq + j] = 0 }
                }
                inputs[value.name] = HostTensor(shape: shape, int64s: v)
                described.append(InputDescription(name: value.name, dtype: "i64", shape: shape,
                                                  origin: padRows > 0 ? "ones; last row padded over its last \(min(padLength, sequence)) position(s)" : "ones"))
                continue
            }
            var rows: Int?
            for (g, store) in zip(graphs, weights) {
                for node in g.nodes where node.op == "gather" && node.inputs.count == 2 && node.inputs[1] == value.name {
                    if let t = store[node.inputs[0]]?.tensor, let r = t.shape.dims.first { rows = min(rows ?? r, r) }
                }
            }
            if rows == nil, role == .tokens { rows = config["vocab_size"]?.intValue }
            guard let bound = rows, bound > 0 else {
                inputs[value.name] = HostTensor(shape: shape, int64s: [Int64](repeating: 0, count: count))
                described.append(InputDescription(name: value.name, dtype: "i64", shape: shape, origin: "zeros"))
                continue
            }
            var ids = (0..<count).map { _ in Int64(rng.next(below: UInt64(bound))) }
            var origin = "seeded ids in [0, \(bound))"
            if let pad = padToken, pad >= 0, pad < bound, role == .tokens, shape.count == 2, padRows > 0 {
                // Keep pad ids out of the real tokens, and put them where the mask pads.
                let (r, seq) = (shape[0], shape[1])
                if bound > 1 {
                    for i in 0..<ids.count where ids[i] == Int64(pad) { ids[i] = Int64((pad + 1) % bound) }
                }
                for j in max(0, seq - padLength)..<seq { ids[(r - 1) * seq + j] = Int64(pad) }
                origin += "; pad id \(pad) in the padded positions"
            }
            inputs[value.name] = HostTensor(shape: shape, int64s: ids)
            described.append(InputDescription(name: value.name, dtype: "i64", shape: shape, origin: origin))
        }
        return (inputs, described)
    }
}
