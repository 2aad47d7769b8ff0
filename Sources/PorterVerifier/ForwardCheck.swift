import Foundation
import PorterCore
import PorterRuntime
import PorterArchitectures

/// A model's graph ready to run, or why there is none (the verifier's forward level and
/// `porter run` prepare graphs this one way).
public enum PreparedGraph {
    case ready(GraphExecutor)
    /// No graph can be built (unknown architecture, missing op): not a failure of the port.
    case unavailable(String)
    /// A graph was built but cannot run on this model's weights (missing or misshapen tensor).
    case broken(String)

    public var isReady: Bool { if case .ready = self { return true }; return false }

    /// `shared`: weights already loaded by another executor that this model's tensors of
    /// those names equal bit for bit (the verifier's source side), taken instead of a copy.
    public static func prepare(_ model: NeutralModel, registry: ArchitectureRegistry,
                               shared: [String: LoadedWeight] = [:]) -> PreparedGraph {
        let graph: Graph
        if let g = model.graph {
            graph = g
        } else {
            do {
                graph = try registry.buildGraph(config: model.config, tensorNames: Set(model.tensors.names))
            } catch let error as ArchitectureError {
                // The reader knows why its graph is missing (a layer or op it cannot express):
                // that, not the config's lack of a model_type, is the reason.
                if case .unknownModelType(nil) = error, let why = model.graphUnavailable { return .unavailable(why) }
                if case .unknownModelType = error { return .unavailable(error.localizedDescription) }
                return .broken(error.localizedDescription)
            } catch {
                return .broken(error.localizedDescription)
            }
        }
        let missing = GraphExecutor.missingOps(in: graph)
        if !missing.isEmpty {
            return .unavailable("the graph uses op(s) Porter's runtime lacks: \(missing.joined(separator: ", "))")
        }
        do {
            return .ready(try GraphExecutor(graph: graph, weights: model.tensors, shared: shared))
        } catch {
            return .broken(error.localizedDescription)
        }
    }
}

/// Compares runtime outputs and intermediates.
enum OutputCompare {
    /// Metrics of `actual` against `expected`, or nil when their shapes differ.
    static func metrics(_ actual: HostTensor, _ expected: HostTensor, tolerance: Tolerance) -> ComparisonMetrics? {
        guard actual.shape == expected.shape else { return nil }
        let row = actual.shape.last
        return ComparisonMetrics.compare(actual: actual.doubleValues, expected: expected.doubleValues,
                                         rowLength: actual.shape.count >= 1 ? row : nil, tolerance: tolerance)
    }

    /// Compares named outputs; a shape difference or a missing output is a failure.
    static func outputs(actual: [String: HostTensor], expected: [String: HostTensor], names: [String], tolerance: Tolerance,
                        failures: inout [String], label: String) -> [OutputComparison] {
        var result: [OutputComparison] = []
        for name in names {
            guard let a = actual[name], let e = expected[name] else { continue }
            guard let m = metrics(a, e, tolerance: tolerance) else {
                failures.append("\(label): output \(name) has shape \(a.shape) but \(e.shape) was expected")
                continue
            }
            let c = OutputComparison(name: name, shape: a.shape, metrics: m)
            if !c.withinTolerance {
                failures.append("\(label): output \(name) differs beyond tolerance (max abs \(ReportWriter.num(m.maxAbs)), \(m.outsideTolerance + m.nonFiniteMismatches) of \(m.count) elements)")
            }
            result.append(c)
        }
        return result
    }
}

/// First-divergence search over captured intermediates.
public enum DivergenceSearch {
    /// Ops whose outputs are bookkeeping (masks, positions), left out of the per-layer series.
    static let bookkeepingOps: Set<String> = ["attention_mask", "causal_mask", "position_ids"]

    /// Walks the converted model's node outputs in execution order, compares each with the
    /// source model's output of the same name, and returns the first beyond tolerance and
    /// the per-layer error series.
    public static func search(converted: [(node: String, op: String, output: String, value: HostTensor)],
                              source: [(node: String, op: String, output: String, value: HostTensor)],
                              graph: Graph, weights: Set<String>, tolerance: Tolerance,
                              descriptor: (any ArchitectureDescriptor)? = nil) -> (Divergence?, [LayerError]) {
        var expected: [String: HostTensor] = [:]
        for item in source { expected[item.output] = item.value }
        let inputsOf = Dictionary(graph.nodes.map { ($0.name, $0.inputs) }, uniquingKeysWith: { a, _ in a })
        var first: Divergence?
        var layers: [LayerError] = []
        var position = 0
        var currentKey: String?
        var last: (node: String, metrics: ComparisonMetrics)?
        func closeGroup() {
            if let key = currentKey, let last {
                layers.append(LayerError(layer: key, node: last.node, maxAbs: last.metrics.maxAbs, meanAbs: last.metrics.meanAbs,
                                         withinTolerance: last.metrics.withinTolerance, toleranceFraction: last.metrics.toleranceFraction))
            }
            last = nil
        }
        for item in converted {
            guard let e = expected[item.output], let m = OutputCompare.metrics(item.value, e, tolerance: tolerance) else { continue }
            defer { position += 1 }
            if first == nil && !m.withinTolerance {
                let read = (inputsOf[item.node] ?? []).filter { weights.contains($0) }
                first = Divergence(node: item.node, op: item.op, output: item.output, position: position, weights: read, metrics: m)
            }
            guard !bookkeepingOps.contains(item.op), item.value.dtype == .f32 else { continue }
            let key = layerKey(item.node, descriptor: descriptor)
            if key != currentKey { closeGroup(); currentKey = key }
            last = (item.node, m)
        }
        closeGroup()
        return (first, distinctLabels(layers))
    }

    /// A block that comes back after another one (FSMT's `decoder` embeddings before its
    /// layers and its output projection after them) would give two bars with one label: each
    /// run of a recurring block is labelled with its last node's name inside the block,
    /// `decoder (embeddings)` and `decoder (output_projection)`.
    static func distinctLabels(_ layers: [LayerError]) -> [LayerError] {
        var runs: [String: Int] = [:]
        for l in layers { runs[l.layer, default: 0] += 1 }
        return layers.map { l in
            guard runs[l.layer, default: 0] > 1 else { return l }
            var relabelled = l
            let inside = l.node.hasPrefix(l.layer + ".") ? String(l.node.dropFirst(l.layer.count + 1)) : l.node
            relabelled.layer = "\(l.layer) (\(inside))"
            return relabelled
        }
    }

    /// The block a node belongs to: the descriptor's block (`encoder.layer.3` for
    /// `encoder.layer.3.attention.self.query` with BERT's `encoder.layer.{bid}`) when the
    /// model has a descriptor; else the module path up to the first numbered component
    /// (`model.decoder.layers.0` for `model.decoder.layers.0.fc1`); else the module path
    /// without its last component, at most two components deep (`embeddings` for
    /// `embeddings.LayerNorm`, `model.encoder` for `model.encoder.embed_tokens`).
    public static func layerKey(_ node: String, descriptor: (any ArchitectureDescriptor)? = nil) -> String {
        if let key = descriptor?.blockKey(node) { return key }
        let parts = node.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for i in parts.indices where i > 0 && Int(parts[i]) != nil && Int(parts[i - 1]) == nil {
            return parts[0...i].joined(separator: ".")
        }
        if parts.count <= 1 { return node }
        return parts.dropLast().prefix(2).joined(separator: ".")
    }
}
