import Foundation
import PorterCore
import PorterOps

/// A dimension as the importer knows it: a number, a graph input's named dimension
/// (`dim_param`), or dimension `axis` of the value `origin` (unknown, equal only to itself).
enum Sym: Hashable, CustomStringConvertible {
    case known(Int)
    case param(String)
    case dim(String, Int)

    var description: String {
        switch self {
        case let .known(v): return String(v)
        case let .param(p): return p
        case let .dim(o, a): return "\(o)[\(a)]"
        }
    }
}

/// A value computed while importing, not at run time: shape arithmetic (`Shape`, `Gather`
/// on a shape, `Concat` of dims …) whose elements may be symbolic, or a float scalar
/// (`Pow(Cast(head_dim), 0.5)`).
enum Folded {
    /// An integer scalar (`scalar`) or vector.
    case ints([Sym], scalar: Bool)
    case float(Double)
    /// Known integers of rank 2 or more, row-major (torch.onnx's F.pad writes its pads through a
    /// [-1, 2] Reshape, a reversing Slice and a Transpose); at most `foldedTensorLimit` of them.
    case tensor([Int], shape: [Int])
}

/// The most elements a folded integer tensor may hold.
let foldedTensorLimit = 4096

extension ONNXGraphImporter {
    /// Folds `n` when every input is known at import time; true when it did.
    func fold(_ n: NodeProto, _ state: State) throws -> Bool {
        let ins = n.inputs
        guard let out = n.outputs.first else { return false }
        switch n.opType {
        case "Constant":
            guard let t = state.constants[out] else { return false }
            if t.dtype == .i64 || t.dtype == .i32, t.shape.rank <= 1, t.elementCount <= 64 {
                let values = try intValues(t)
                state.folded[out] = .ints(values.map { .known($0) }, scalar: t.shape.rank == 0)
            } else if t.dtype.isCastableFloat, t.elementCount == 1, t.shape.rank == 0 {
                state.folded[out] = .float(Double(try t.floatValues()[0]))
            }
            return true
        case "Shape":
            guard ins.count == 1 else { return false }
            // A Constant's or folded value's shape is known too (silero-vad takes Shape of a Constant).
            var known = state.shapes[ins[0]] ?? constantTensor(ins[0], state).map { $0.shape.dims.map { Sym.known($0) } }
            if known == nil, let f = state.folded[ins[0]] {
                switch f {
                case let .ints(v, scalar): known = scalar ? [] : [.known(v.count)]
                case let .tensor(_, shape): known = shape.map { .known($0) }
                case .float: known = []
                }
            }
            guard let s = known else { return false }
            // start / end (opset 15): negative counts from the end; both clamp to the rank.
            func clamp(_ i: Int) -> Int { min(max(i < 0 ? i + s.count : i, 0), s.count) }
            let lo = clamp(int(n, "start", 0)), hi = clamp(int(n, "end", s.count))
            state.folded[out] = .ints(lo < hi ? Array(s[lo..<hi]) : [], scalar: false)
            return true
        case "Size":
            // The element count: a folded vector's length (silero-vad takes Size of a Shape), or the
            // product of dims all known at import time.
            guard ins.count == 1 else { return false }
            if case let .ints(vec, scalar)? = state.folded[ins[0]] {
                state.folded[out] = .ints([.known(scalar ? 1 : vec.count)], scalar: true)
                return true
            }
            guard let s = state.shapes[ins[0]] else { return false }
            var count = 1
            for d in s {
                guard case let .known(k) = d else { return false }
                let (p, o) = count.multipliedReportingOverflow(by: k)
                guard !o else { throw refuse(n, "the element count of \(s) overflows") }
                count = p
            }
            state.folded[out] = .ints([.known(count)], scalar: true)
            return true
        default: break
        }
        let inputs = ins.map { state.folded[$0] }
        guard !ins.isEmpty, inputs.allSatisfy({ $0 != nil }) else { return false }
        let f = inputs.compactMap { $0 }
        switch (n.opType, f.count) {
        case ("Gather", 2):
            guard case let .ints(vec, false) = f[0], case let .ints(idx, scalar) = f[1], int(n, "axis", 0) == 0 else { return false }
            var picked: [Sym] = []
            for i in idx {
                guard case let .known(k) = i, (-vec.count..<vec.count).contains(k) else { throw refuse(n, "index \(i) out of range of \(vec)") }
                picked.append(vec[k < 0 ? k + vec.count : k])
            }
            state.folded[out] = .ints(picked, scalar: scalar)
        case ("Unsqueeze", _):
            guard case let .ints(v, true) = f[0] else { return false }
            state.folded[out] = .ints(v, scalar: false)
        case ("Squeeze", _):
            guard case let .ints(v, false) = f[0], v.count == 1 else { return false }
            state.folded[out] = .ints(v, scalar: true)
        case ("Concat", _):
            var all: [Sym] = []
            for x in f {
                guard case let .ints(v, _) = x else { return false }
                all += v
            }
            state.folded[out] = .ints(all, scalar: false)
        case ("Cast", 1), ("Identity", 1):
            let to = int(n, "to", ONNXDataType.int64)
            switch f[0] {
            case let .ints(v, scalar):
                if n.opType == "Identity" || to == ONNXDataType.int64 || to == ONNXDataType.int32 {
                    state.folded[out] = .ints(v, scalar: scalar)
                } else if to == ONNXDataType.float || to == ONNXDataType.double, scalar, case let .known(k) = v[0] {
                    state.folded[out] = .float(Double(k))
                } else {
                    return false
                }
            case .tensor:
                guard n.opType == "Identity" || to == ONNXDataType.int64 || to == ONNXDataType.int32 else { return false }
                state.folded[out] = f[0]
            case let .float(d):
                if to == ONNXDataType.int64 {
                    guard d.isFinite, abs(d) < 0x1p62 else { throw refuse(n, "casts \(d) to INT64") }
                    state.folded[out] = .ints([.known(Int(d))], scalar: true)
                } else {
                    state.folded[out] = .float(d)
                }
            }
        case ("Add", 2), ("Sub", 2), ("Mul", 2), ("Div", 2), ("Pow", 2):
            switch (f[0], f[1]) {
            case let (.ints(a, sa), .ints(b, sb)) where sa || sb || a.count == b.count:
                // Known integers: two scalars, a scalar broadcast against a vector, or two vectors of
                // one length (F.pad's `2 · rank − len(pad)` as torch.onnx writes it).
                var r: [Sym] = []
                for k in 0..<max(a.count, b.count) {
                    guard case let .known(x) = a[sa ? 0 : k], case let .known(y) = b[sb ? 0 : k] else { return false }
                    switch n.opType {
                    case "Add": r.append(.known(x &+ y))
                    case "Sub": r.append(.known(x &- y))
                    case "Mul": r.append(.known(x &* y))
                    case "Div":
                        let (q, o) = x.dividedReportingOverflow(by: y)
                        guard y != 0, !o else { throw refuse(n, "divides \(x) by \(y)") }
                        r.append(.known(q))
                    default: return false
                    }
                }
                state.folded[out] = .ints(r, scalar: sa && sb)
            default:
                guard let x = scalar(f[0]), let y = scalar(f[1]) else { return false }
                let r: Double
                switch n.opType {
                case "Add": r = x + y
                case "Sub": r = x - y
                case "Mul": r = x * y
                case "Div": r = x / y
                default: r = pow(x, y)
                }
                state.folded[out] = .float(r)
            }
        case ("Sqrt", 1):
            guard let x = scalar(f[0]) else { return false }
            state.folded[out] = .float(x.squareRoot())
        default:
            return try foldMore(n, f, state)
        }
        return true
    }

    func scalar(_ f: Folded) -> Double? {
        switch f {
        case let .float(d): return d
        case let .ints(v, true): if case let .known(k) = v[0] { return Double(k) }; return nil
        default: return nil
        }
    }

    func intValues(_ t: TensorRef) throws -> [Int] {
        let bytes = try t.contiguousBytes()
        switch t.dtype {
        case .i64: return bytes.withUnsafeBytes { raw in (0..<(bytes.count / 8)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) } }
        default: return bytes.withUnsafeBytes { raw in (0..<(bytes.count / 4)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) } }
        }
    }

    /// A folded value read as data by a node: a constant tensor in the model's store.
    func materialize(_ name: String, _ f: Folded, _ state: State) throws -> TensorRef {
        switch f {
        case let .float(d):
            var v = Float(d)
            return .memory(withUnsafeBytes(of: &v) { Array($0) }, dtype: .f32, shape: Shape([]), label: name)
        case let .tensor(values, shape):
            let bytes = values.map { Int64($0) }.withUnsafeBytes { Array($0) }
            return .memory(bytes, dtype: .i64, shape: Shape(shape), label: name)
        case let .ints(syms, scalar):
            var values: [Int64] = []
            for s in syms {
                guard case let .known(k) = s else {
                    throw Failure(reason: "value '\(name)' = \(syms) is computed from dynamic dims and read as data; Porter folds shape arithmetic only into shape attributes")
                }
                values.append(Int64(k))
            }
            let bytes = values.withUnsafeBytes { Array($0) }
            return .memory(bytes, dtype: .i64, shape: Shape(scalar ? [] : [values.count]), label: name)
        }
    }

    /// A Reshape target from folded dims: `0` where the input keeps its dim, `-1` for the one
    /// dim left to infer.
    func reshapeTarget(_ n: NodeProto, target: [Sym], input: [Sym]?) throws -> [Int] {
        var out: [Int] = []
        var unresolved = 0
        for (i, s) in target.enumerated() {
            switch s {
            case let .known(v):
                if v == -1 { unresolved += 1 }
                out.append(v)
            default:
                if let input, i < input.count, input[i] == s {
                    out.append(0)
                } else {
                    unresolved += 1
                    out.append(-1)
                }
            }
        }
        guard unresolved <= 1 else { throw refuse(n, "the target shape \(target) has more than one dim Porter cannot tie to the input's") }
        return out
    }

    // MARK: symbolic shapes of emitted nodes

    func propagate(_ node: GraphNode, _ state: State) {
        guard let out = node.outputs.first else { return }
        func s(_ i: Int) -> [Sym]? { i < node.inputs.count ? state.shapes[node.inputs[i]] : nil }
        var result: [Sym]?
        switch node.op {
        case "relu", "sigmoid", "tanh", "erf", "exp", "sqrt", "neg", "identity", "cast", "softmax", "layer_norm", "position_ids",
             "logical_not", "reciprocal", "cumsum", "trilu", "not_equal", "activation", "batch_norm", "gelu", "log_softmax":
            result = s(0)
        case "add", "sub", "mul", "div", "equal", "less", "greater", "less_equal", "greater_equal", "logical_and", "logical_or", "logical_xor",
             "maximum", "minimum":
            if let a = s(0), let b = s(1) { result = broadcast(a, b, out: out) }
        case "where":
            if let c = s(0), let a = s(1), let b = s(2), let ab = broadcast(a, b, out: out) { result = broadcast(c, ab, out: out) }
        case "matmul":
            if let a = s(0), let b = s(1), a.count >= 2, b.count >= 2 {
                result = broadcast(Array(a.dropLast(2)), Array(b.dropLast(2)), out: out).map { $0 + [a[a.count - 2], b[b.count - 1]] }
            }
        case "transpose":
            if let a = s(0), let perm = node.attributes["perm"]?.arrayValue?.compactMap(\.intValue), perm.count == a.count,
               perm.allSatisfy({ (0..<a.count).contains($0) }) {
                result = perm.map { a[$0] }
            }
        case "reshape":
            if let target = node.attributes["shape"]?.arrayValue?.compactMap(\.intValue) {
                let a = s(0)
                result = target.enumerated().map { i, v in
                    v == 0 ? (a.flatMap { i < $0.count ? $0[i] : nil } ?? .dim(out, i)) : v == -1 ? .dim(out, i) : .known(v)
                }
            }
        case "gather":
            if let t = s(0), let idx = s(1), !t.isEmpty, (node.attributes["axis"]?.intValue ?? 0) == 0 { result = idx + Array(t.dropFirst()) }
        case "unsqueeze":
            if let a = s(0), let axes = node.attributes["axes"]?.arrayValue?.compactMap(\.intValue) {
                let rank = a.count + axes.count
                let norm = Set(axes.map { $0 < 0 ? $0 + rank : $0 })
                var it = a.makeIterator()
                result = (0..<rank).map { norm.contains($0) ? .known(1) : (it.next() ?? .dim(out, $0)) }
            }
        case "squeeze":
            if let a = s(0), let axes = node.attributes["axes"]?.arrayValue?.compactMap(\.intValue) {
                let norm = Set(axes.map { $0 < 0 ? $0 + a.count : $0 })
                result = a.enumerated().filter { !norm.contains($0.offset) }.map(\.element)
            }
        case "slice":
            if var a = s(0), var axis = node.attributes["axis"]?.intValue, (-a.count..<a.count).contains(axis) {
                if axis < 0 { axis += a.count }
                let start = node.attributes["start"]?.intValue ?? 0, end = node.attributes["end"]?.intValue ?? Int.max
                let step = node.attributes["step"]?.intValue ?? 1
                if case let .known(length) = a[axis], step != 0 {
                    a[axis] = .known(sliceBounds(length: length, start: start, end: end, step: step).count)
                } else if start == 0, end == 1, step == 1 {
                    a[axis] = .known(1)
                } else if !(start == 0 && end >= Int(Int32.max) && step == 1) {
                    a[axis] = .dim(out, axis)
                }
                result = a
            }
        case "linear":
            if let a = s(0), let w = initializers[node.inputs[1]]?.shape.dims, w.count == 2, !a.isEmpty {
                let outIn = node.attributes["weight_layout"]?.stringValue != "in_out"
                result = Array(a.dropLast()) + [.known(outIn ? w[0] : w[1])]
            }
        default:
            result = propagateMore(node, state)
        }
        if let result { state.shapes[out] = result }
    }

    func broadcast(_ a: [Sym], _ b: [Sym], out: String) -> [Sym]? {
        let rank = max(a.count, b.count)
        let pa = [Sym](repeating: .known(1), count: rank - a.count) + a
        let pb = [Sym](repeating: .known(1), count: rank - b.count) + b
        return (0..<rank).map { i in
            let (x, y) = (pa[i], pb[i])
            if x == y || y == .known(1) { return x }
            if x == .known(1) { return y }
            if case .known = x { return x }
            if case .known = y { return y }
            return .dim(out, i)
        }
    }
}
