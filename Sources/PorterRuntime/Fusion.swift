import Foundation
import CPorterKernels
import CPorterRuntime
import PorterCore
import PorterOps

/// A step of the execution plan: one node, or a few adjacent nodes computed in one pass
/// when the values between them have no other reader (and intermediates are not being
/// captured). Results are identical in meaning to running the nodes one by one.
enum FusedStep {
    case node(Int)
    /// `linear` whose output feeds only an activation (`gelu`, `relu`), applied in place.
    case linearActivation(linear: Int, activation: Int)
    /// `linear` whose output feeds only `add` with a same-shaped tensor (a residual), folded
    /// into the matrix product's accumulator.
    case linearResidual(linear: Int, add: Int)
    /// `matmul` → optional `scale` → optional `add` (mask) → `softmax` over the last axis.
    case attentionScores(matmul: Int, scale: Int?, add: Int?, softmax: Int)
    /// A whole multi-head attention (`AttentionPattern`, `fusedAttention`): no per-head copies,
    /// scores never stored for the graph.
    case attention(AttentionPattern)

    var nodeIndices: [Int] {
        switch self {
        case let .node(i): return [i]
        case let .linearActivation(l, a): return [l, a]
        case let .linearResidual(l, a): return [l, a]
        case let .attentionScores(m, s, a, x): return [m] + [s, a].compactMap { $0 } + [x]
        case let .attention(p): return p.nodeIndices
        }
    }

    func label(_ graph: Graph) -> String {
        if case .attention = self { return "attention(fused)" }
        let ops = nodeIndices.map { graph.nodes[$0].op }
        return ops.count == 1 ? ops[0] : ops.joined(separator: "+")
    }

    /// The steps for `graph`, whose nodes' attributes `attributes` holds (decoded by their specs).
    static func plan(_ graph: Graph, attributes: [OpAttributes]) -> [FusedStep] {
        var uses: [String: Int] = [:]
        for node in graph.nodes { for name in node.inputs where !name.isEmpty { uses[name, default: 0] += 1 } }
        for output in graph.outputs { uses[output.name, default: 0] += 1 }
        let nodes = graph.nodes
        func soleOutput(_ i: Int) -> String? {
            guard nodes[i].outputs.count == 1, uses[nodes[i].outputs[0]] == 1 else { return nil }
            return nodes[i].outputs[0]
        }
        func next(_ i: Int, op: Set<String>, reading value: String) -> Int? {
            guard i + 1 < nodes.count, op.contains(nodes[i + 1].op), nodes[i + 1].outputs.count == 1 else { return nil }
            return nodes[i + 1].inputs.contains(value) ? i + 1 : nil
        }
        var steps: [FusedStep] = []
        var i = 0
        while i < nodes.count {
            let node = nodes[i]
            if node.op == "linear", let out = soleOutput(i) {
                if let a = next(i, op: ["gelu", "relu"], reading: out), nodes[a].inputs.count == 1 {
                    steps.append(.linearActivation(linear: i, activation: a)); i = a + 1; continue
                }
                if let a = next(i, op: ["add"], reading: out), nodes[a].inputs.count == 2, nodes[a].inputs[0] != nodes[a].inputs[1] {
                    steps.append(.linearResidual(linear: i, add: a)); i = a + 1; continue
                }
            }
            if node.op == "reshape", let p = AttentionPattern.match(at: i, nodes: nodes, attributes: attributes, soleOutput: soleOutput) {
                steps.append(.attention(p)); i = p.merged + 1; continue
            }
            if node.op == "matmul", var value = soleOutput(i) {
                var j = i
                var scale: Int? = nil, add: Int? = nil
                if let s = next(j, op: ["scale"], reading: value), let o = soleOutput(s) { scale = s; j = s; value = o }
                if let a = next(j, op: ["add"], reading: value), nodes[a].inputs.count == 2, nodes[a].inputs[0] != nodes[a].inputs[1],
                   let o = soleOutput(a) { add = a; j = a; value = o }
                if let x = next(j, op: ["softmax"], reading: value), nodes[x].inputs.count == 1,
                   (try? attributes[x].int("axis")) == -1 {
                    steps.append(.attentionScores(matmul: i, scale: scale, add: add, softmax: x)); i = x + 1; continue
                }
            }
            steps.append(.node(i))
            i += 1
        }
        return steps
    }
}

extension GraphExecutor {
    /// Runs a fused step; returns false (having stored nothing) when the operands do not
    /// fit the fast path, so the caller runs the nodes one by one.
    func runFused(_ step: FusedStep, values: inout [String: HostTensor]) throws -> Bool {
        switch step {
        case .node:
            return false
        case let .linearActivation(l, a):
            let act = graph.nodes[a]
            guard let activation = try PackedActivation(graph.nodes[a], attributes: attributes[a]) else { return false }
            if packed[graph.nodes[l].inputs[1]] != nil {
                guard let y = try linearNode(l, values: values, residual: nil, activation: activation) else { return false }
                values[act.outputs[0]] = y
                return true
            }
            guard var y = try linearNode(l, values: values, residual: nil, activation: nil), case .float(var out) = y.storage else { return false }
            y.storage = .float([])  // `out` is the only reference: the activation runs in place, no copy
            let function = activation.function
            out.withUnsafeMutableBufferPointer { o in
                nonisolated(unsafe) let o = o
                parallelChunks(o.count, minimumPerChunk: 1 << 14) { range in function(o.baseAddress! + range.lowerBound, range.count) }
            }
            values[act.outputs[0]] = HostTensor(shape: y.shape, floats: out)
            return true
        case let .linearResidual(l, a):
            let lin = graph.nodes[l], add = graph.nodes[a]
            let otherName = add.inputs[0] == lin.outputs[0] ? add.inputs[1] : add.inputs[0]
            guard let other = try value(otherName, for: add, in: values),
                  let y = try linearNode(l, values: values, residual: other, activation: nil) else { return false }
            values[add.outputs[0]] = y
            return true
        case let .attention(p):
            let first = graph.nodes[p.first]
            guard let q = try value(p.query, for: first, in: values), let k = try value(p.key, for: graph.nodes[p.first + 2], in: values),
                  let v = try value(p.value, for: graph.nodes[p.first + 4], in: values) else { return false }
            var mask: HostTensor? = nil
            if let a = p.add, let name = p.mask {
                guard let t = try value(name, for: graph.nodes[a], in: values) else { return false }
                mask = t
            }
            let alpha = p.scale.map { Float((try? attributes[$0].number("factor")) ?? .nan) } ?? 1
            guard alpha.isFinite || p.scale == nil,
                  let out = fusedAttention(q: q, k: k, v: v, heads: p.heads, headDim: p.headDim, alpha: alpha, mask: mask) else { return false }
            values[graph.nodes[p.merged].outputs[0]] = out
            return true
        case let .attentionScores(m, s, a, x):
            let mm = graph.nodes[m]
            guard let lhs = try value(mm.inputs[0], for: mm, in: values)?.floats,
                  let rhs = try value(mm.inputs[1], for: mm, in: values)?.floats else { return false }
            let ctx = NodeContext(node: mm, inputs: [], attrs: attributes[m])
            var alpha: Float = 1
            if let s { alpha = Float(try attributes[s].number("factor")) }
            let lhsShape = try value(mm.inputs[0], for: mm, in: values)!.shape
            let rhsShape = try value(mm.inputs[1], for: mm, in: values)!.shape
            let scores = try batchedMatmul(lhs, lhsShape, rhs, rhsShape,
                                           transA: try ctx.attrs.bool("transpose_a"),
                                           transB: try ctx.attrs.bool("transpose_b"), ctx: ctx, alpha: alpha)
            var mask: HostTensor? = nil
            if let a {
                let add = graph.nodes[a]
                let maskName = add.inputs[0] == graph.nodes[s ?? m].outputs[0] ? add.inputs[1] : add.inputs[0]
                guard let t = try value(maskName, for: add, in: values), t.floats != nil,
                      broadcastShapes(scores.shape, t.shape) == scores.shape else { return false }
                mask = t
            }
            values[graph.nodes[x].outputs[0]] = HostTensor(shape: scores.shape, floats: maskedSoftmax(scores.floats!, shape: scores.shape, mask: mask))
            return true
        }
    }

    /// `linear` of `node` with the residual (same shape as the result) added, or nil when the
    /// operands do not fit the fast path.
    /// A weight held packed (`PackedMatrix`) is multiplied by the packed GEMM, which also adds
    /// the residual and applies `activation` per tile; otherwise `activation` must be nil (the
    /// caller applies it).
    func linearNode(_ index: Int, values: [String: HostTensor], residual: HostTensor?,
                    activation: PackedActivation?) throws -> HostTensor? {
        let node = graph.nodes[index]
        guard node.inputs.count >= 2, let xt = try value(node.inputs[0], for: node, in: values), let x = xt.floats else { return nil }
        var bias: [Float]? = nil
        if node.inputs.count > 2, let b = try value(node.inputs[2], for: node, in: values) {
            guard let bf = b.floats else { return nil }
            bias = bf
        }
        let ctx = NodeContext(node: node, inputs: [], attrs: attributes[index])
        if let pw = packed[node.inputs[1]] {
            if let residual, residual.floats == nil || residual.shape != Array(xt.shape.dropLast()) + [pw.n] { return nil }
            return try packedLinear(x: x, xShape: xt.shape, weight: pw, bias: bias, residual: residual, activation: activation, ctx: ctx)
        }
        guard activation == nil, let wt = try value(node.inputs[1], for: node, in: values), let w = wt.floats, wt.shape.count == 2 else { return nil }
        let outIn = try attributes[index].string("weight_layout") == "out_in"
        guard let residual else {
            return try linearForward(x: x, xShape: xt.shape, weight: w, wShape: wt.shape, bias: bias, outIn: outIn, ctx: ctx)
        }
        let (outF, inF) = outIn ? (wt.shape[0], wt.shape[1]) : (wt.shape[1], wt.shape[0])
        guard let r = residual.floats, let last = xt.shape.last, last == inF, inF > 0, bias == nil || bias!.count == outF,
              residual.shape == Array(xt.shape.dropLast()) + [outF] else { return nil }
        let rows = x.count / inF
        var out = r
        if let bias {
            out.withUnsafeMutableBufferPointer { o in
                bias.withUnsafeBufferPointer { b in
                    nonisolated(unsafe) let (o, b) = (o, b)
                    parallelChunks(rows, minimumPerChunk: 64) { range in
                        for row in range { for j in 0..<outF { o[row * outF + j] += b[j] } }
                    }
                }
            }
        }
        x.withUnsafeBufferPointer { px in w.withUnsafeBufferPointer { pw in out.withUnsafeMutableBufferPointer { po in
            sgemm(transA: false, transB: outIn, m: rows, n: outF, k: inF, a: px.baseAddress!, lda: inF,
                  b: pw.baseAddress!, ldb: outIn ? inF : outF, beta: 1, c: po.baseAddress!, ldc: outF)
        } } }
        return HostTensor(shape: residual.shape, floats: out)
    }
}

/// Softmax over the last axis of `x + mask` (mask broadcast to `shape`), in one pass per row.
func maskedSoftmax(_ x: [Float], shape: [Int], mask: HostTensor?) -> [Float] {
    guard let length = shape.last, length > 0 else { return x }
    let rows = x.count / length
    var out: [Float] = uninitialized(x.count)
    let maskValues = mask?.floats ?? []
    let maskStrides = mask.map { broadcastStrides($0.shape, to: shape) } ?? []
    let rank = shape.count
    x.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in maskValues.withUnsafeBufferPointer { mp in
        nonisolated(unsafe) let (p, o, mp) = (p, o, mp)
        parallelChunks(rows, minimumPerChunk: max(1, 8192 / length)) { range in
            for row in range {
                let base = row * length
                if mask != nil {
                    var rem = row, offset = 0
                    for axis in stride(from: rank - 2, through: 0, by: -1) {
                        offset += (rem % shape[axis]) * maskStrides[axis]
                        rem /= shape[axis]
                    }
                    let step = maskStrides[rank - 1]
                    for j in 0..<length { o[base + j] = p[base + j] + mp[offset + j * step] }
                } else {
                    for j in 0..<length { o[base + j] = p[base + j] }
                }
                var maxValue = -Float.infinity
                for j in 0..<length { maxValue = max(maxValue, o[base + j]) }
                if maxValue == -.infinity { maxValue = 0 }
                var sum: Float = 0
                for j in 0..<length {
                    let e = expf(o[base + j] - maxValue)
                    o[base + j] = e
                    sum += e
                }
                let inv = 1 / sum
                for j in 0..<length { o[base + j] *= inv }
            }
        }
    } } }
    return out
}
