import Foundation
import PorterCore
import PorterOps

// The importer's second set of operators (docs/formats/onnx.md, "Graph import"): Expand,
// Tile, Resize, ConvTranspose, InstanceNormalization, the Reduce family, If with a condition
// known at import time; symbolic shapes through convolutions and pools (so Shape → Gather →
// … chains after a Conv fold), and the folds Shape(start, end), Slice, ReduceProd and
// comparisons of shape values.

extension ONNXGraphImporter {
    /// The key of an If branch in `branchTensors`.
    static func branchKey(_ n: NodeProto, _ branch: String) -> String { "\(n.outputs.first ?? n.name)#\(branch)" }

    static let reductions: [String: String] = [
        "ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min", "ReduceProd": "prod", "ReduceL1": "l1", "ReduceL2": "l2",
        "ReduceSumSquare": "sum_square", "ReduceLogSum": "log_sum", "ReduceLogSumExp": "log_sum_exp",
    ]

    /// Imports `n` when it is one of this file's operators; false otherwise.
    func importMore(_ n: NodeProto, _ state: State) throws -> Bool {
        let ins = n.inputs
        func input(_ i: Int) throws -> String {
            guard i < ins.count, !ins[i].isEmpty else { throw refuse(n, "input \(i) is missing") }
            return try data(ins[i], state)
        }
        if let function = Self.reductions[n.opType] {
            try reduce(n, function: function, state)
            return true
        }
        switch n.opType {
        case "Expand":
            try expand(n, state)
        case "Tile":
            guard ins.count == 2 else { throw refuse(n, "needs input and repeats") }
            let repeats = try constantInts(ins[1], state, node: n)
            guard repeats.allSatisfy({ $0 >= 0 && $0 <= 1 << 16 }) else { throw refuse(n, "repeats \(repeats) must each be between 0 and 65536") }
            emit(n, "tile", [try input(0)], ["repeats": .array(repeats.map { .int(Int64($0)) })], state)
        case "Resize":
            try resize(n, state)
        case "ConvTranspose":
            try convTranspose(n, state)
        case "LSTM":
            try lstm(n, state)
        case "InstanceNormalization":
            emit(n, "instance_norm", [try input(0), try input(1), try input(2)], ["epsilon": .double(Double(float(n, "epsilon", 1e-5)))], state)
        case "If":
            try inlineIf(n, state)
        default:
            return false
        }
        return true
    }

    /// A value whose dims include every symbolic one of `syms` (a graph input first).
    func valueHolding(_ syms: [Sym], _ state: State) -> (name: String, shape: [Sym])? {
        let candidates = graph.inputs.map(\.name) + state.shapes.keys.sorted()
        for c in candidates {
            guard let shape = state.shapes[c] else { continue }
            if syms.allSatisfy({ s in if case .known = s { return true }; return shape.contains(s) }) { return (c, shape) }
        }
        return nil
    }

    /// A shape operand: folded shape arithmetic or a constant.
    func shapeOperand(_ name: String, _ n: NodeProto, _ state: State) throws -> [Sym] {
        if case let .ints(syms, _)? = state.folded[name] { return syms }
        return try constantInts(name, state, node: n).map { .known($0) }
    }

    func expand(_ n: NodeProto, _ state: State) throws {
        guard n.inputs.count == 2, !n.inputs[0].isEmpty, !n.inputs[1].isEmpty else { throw refuse(n, "needs input and shape") }
        let x = try data(n.inputs[0], state)
        let target = try shapeOperand(n.inputs[1], n, state)
        let xs = state.shapes[x]
        var dims: [Int] = []
        var open: [Sym] = []
        for (i, s) in target.enumerated() {
            if case let .known(k) = s {
                guard k >= 0, k <= 1 << 31 else { throw refuse(n, "shape entry \(k) must be between 0 and 2^31") }
                dims.append(k)
                continue
            }
            // A dim x has at that position: broadcasting keeps it.
            let xi = i - (target.count - (xs?.count ?? 0))
            if let xs, xi >= 0, xs[xi] == s { dims.append(1) } else { open.append(s); dims.append(Int.min) }
        }
        var inputs = [x]
        if !open.isEmpty {
            guard let like = valueHolding(open, state) else {
                // Dims of several values (YOLOv8's meshgrid of two Ranges): the shape at run time.
                emit(n, "expand_to", [x, try data(n.inputs[1], state)], [:], state)
                if let xs, let out = n.outputs.first, let b = broadcast(xs, target, out: out) { state.shapes[out] = b }
                return
            }
            inputs.append(like.name)
            for (i, s) in target.enumerated() where dims[i] == Int.min { dims[i] = -1 - like.shape.firstIndex(of: s)! }
        }
        emit(n, "expand", inputs, ["shape": .array(dims.map { .int(Int64($0)) })], state)
        if let xs, let out = n.outputs.first, let b = broadcast(xs, target, out: out) { state.shapes[out] = b }
    }

    func resize(_ n: NodeProto, _ state: State) throws {
        let ins = n.inputs
        guard opset >= 11 else { throw refuse(n, "Resize before opset 11 is not supported") }
        let mode = string(n, "mode") ?? "nearest"
        guard resizeModes.contains(mode) else { throw refuse(n, "mode \(mode) is not supported (nearest and linear are)") }
        let transform = string(n, "coordinate_transformation_mode") ?? "half_pixel"
        guard resizeCoordinateModes.contains(transform) else {
            throw refuse(n, "coordinate_transformation_mode \(transform) is not supported (\(resizeCoordinateModes.joined(separator: ", ")) are)")
        }
        let nearest = string(n, "nearest_mode") ?? "round_prefer_floor"
        if mode == "nearest", !resizeNearestModes.contains(nearest) {
            throw refuse(n, "nearest_mode \(nearest) is not supported (\(resizeNearestModes.joined(separator: ", ")) are)")
        }
        if int(n, "exclude_outside", 0) != 0 { throw refuse(n, "exclude_outside=1 is not supported") }
        if int(n, "antialias", 0) != 0 { throw refuse(n, "antialias=1 is not supported") }
        if attr(n, "axes") != nil { throw refuse(n, "the axes attribute is not supported") }
        if let policy = string(n, "keep_aspect_ratio_policy"), policy != "stretch" { throw refuse(n, "keep_aspect_ratio_policy \(policy) is not supported") }
        guard !ins.isEmpty, !ins[0].isEmpty else { throw refuse(n, "input 0 is missing") }
        let x = try data(ins[0], state)
        var a: [String: JSONValue] = ["mode": .string(mode), "coordinate_transformation_mode": .string(transform)]
        if mode == "nearest" { a["nearest_mode"] = .string(nearest) }
        var scales: [Double]?
        if ins.count > 2, !ins[2].isEmpty {
            guard let t = constantTensor(ins[2], state) else { throw refuse(n, "scales must be a constant") }
            if t.elementCount > 0 {
                let v = try t.floatValues().map(Double.init)
                guard v.allSatisfy({ $0 > 0 && $0 <= 65536 }) else { throw refuse(n, "scales \(v) must each be above 0 and at most 65536") }
                scales = v
            }
        }
        let xs = state.shapes[x]
        if ins.count > 3, !ins[3].isEmpty, scales == nil {
            let sizes = try shapeOperand(ins[3], n, state)
            let dims = try sizes.enumerated().map { i, s -> Int in
                if case let .known(k) = s {
                    guard k >= 0, k <= 1 << 31 else { throw refuse(n, "size \(k) must be between 0 and 2^31") }
                    return k
                }
                guard let xs, i < xs.count, xs[i] == s else { throw refuse(n, "size \(s) of axis \(i) is neither a number nor the input's dim") }
                return -1 - i
            }
            a["sizes"] = .array(dims.map { .int(Int64($0)) })
            if let out = n.outputs.first { state.shapes[out] = sizes }
        } else if let scales {
            a["scales"] = .array(scales.map { .double($0) })
            if let xs, let out = n.outputs.first, xs.count == scales.count {
                state.shapes[out] = zip(xs, scales).enumerated().map { i, p in
                    if p.1 == 1 { return p.0 }
                    if case let .known(d) = p.0 { return .known(resizedLength(d, p.1)) }
                    return .dim(out, i)
                }
            }
        } else {
            throw refuse(n, "neither scales nor sizes is given")
        }
        let out = n.outputs.first.flatMap { state.shapes[$0] }
        emit(n, "resize", [x], a, state)
        if let out, let o = n.outputs.first { state.shapes[o] = out }
    }

    func convTranspose(_ n: NodeProto, _ state: State) throws {
        let ins = n.inputs
        guard ins.count >= 2, !ins[0].isEmpty, !ins[1].isEmpty else { throw refuse(n, "needs input and kernel") }
        let pad = string(n, "auto_pad") ?? "NOTSET"
        guard pad == "NOTSET" || pad == "VALID" else { throw refuse(n, "auto_pad \(pad) is not supported (NOTSET and VALID are)") }
        if attr(n, "output_shape") != nil { throw refuse(n, "output_shape is not supported (give pads and output_padding)") }
        let x = try data(ins[0], state), kernel = try data(ins[1], state)
        guard let ks = state.shapes[ins[1]], ks.count == 3 || ks.count == 4 else {
            throw refuse(n, "the kernel must be a 1-D or 2-D tensor of known shape")
        }
        if let k = ints(n, "kernel_shape"), k.map({ Sym.known($0) }) != Array(ks.dropFirst(2)) { throw refuse(n, "kernel_shape \(k) differs from the kernel's \(ks)") }
        var a: [String: JSONValue] = ["groups": .int(Int64(int(n, "group", 1)))]
        for key in ["strides", "dilations", "output_padding"] { if let v = ints(n, key) { a[key] = .array(v.map { .int(Int64($0)) }) } }
        if pad == "NOTSET", let p = ints(n, "pads") { a["pads"] = .array(p.map { .int(Int64($0)) }) }
        var inputs = [x, kernel]
        if ins.count > 2, !ins[2].isEmpty { inputs.append(try data(ins[2], state)) }
        emit(n, "conv_transpose", inputs, a, state)
    }

    /// ONNX LSTM as Porter's `lstm` (ONNX's gate order and layout kept): the default activations
    /// only, no peepholes, clip, input_forget or layout 1, and no sequence_lens (every sequence is
    /// the whole length); each refused by name otherwise.
    func lstm(_ n: NodeProto, _ state: State) throws {
        let ins = n.inputs
        guard ins.count >= 3, !ins[0].isEmpty, !ins[1].isEmpty, !ins[2].isEmpty else { throw refuse(n, "needs X, W and R") }
        if ins.count > 4, !ins[4].isEmpty { throw refuse(n, "sequence_lens is not supported (every sequence must be the whole length)") }
        if ins.count > 7, !ins[7].isEmpty { throw refuse(n, "peephole weights (P) are not supported") }
        if int(n, "layout", 0) != 0 { throw refuse(n, "layout 1 (batch first) is not supported") }
        if int(n, "input_forget", 0) != 0 { throw refuse(n, "input_forget is not supported") }
        if attr(n, "clip") != nil { throw refuse(n, "clip is not supported") }
        let direction = string(n, "direction") ?? "forward"
        guard lstmDirections.contains(direction) else { throw refuse(n, "direction '\(direction)' is not one of \(lstmDirections)") }
        let dirs = direction == "bidirectional" ? 2 : 1
        if let acts = attr(n, "activations")?.strings.map({ String(decoding: $0, as: UTF8.self).lowercased() }), !acts.isEmpty {
            guard acts == Array(repeating: ["sigmoid", "tanh", "tanh"], count: dirs).flatMap({ $0 }) else { throw refuse(n, "activations \(acts) are not supported (the default Sigmoid, Tanh, Tanh are)") }
        }
        guard let hidden = attr(n, "hidden_size")?.i, hidden >= 1 else { throw refuse(n, "hidden_size is missing") }
        var inputs = [try data(ins[0], state), try data(ins[1], state), try data(ins[2], state)]
        for i in [3, 5, 6] { inputs.append(i < ins.count && !ins[i].isEmpty ? try data(ins[i], state) : "") }
        while inputs.last == "" { inputs.removeLast() }
        // Outputs the file leaves out (or unnamed) get names of their own: the op always has three.
        let base = n.name.isEmpty ? "LSTM_\(state.nodes.count)" : n.name
        let outputs = (0..<3).map { k in k < n.outputs.count && !n.outputs[k].isEmpty ? n.outputs[k] : "\(base)#unused\(k)" }
        emit(base, "lstm", inputs, outputs, ["hidden_size": .int(hidden), "direction": .string(direction)], state)
    }

    func reduce(_ n: NodeProto, function: String, _ state: State) throws {
        let ins = n.inputs
        let fromInput = n.opType == "ReduceSum" ? opset >= 13 : opset >= 18
        var axes: [Int]?
        if fromInput {
            if ins.count > 1, !ins[1].isEmpty { axes = try constantInts(ins[1], state, node: n) }
        } else {
            axes = ints(n, "axes")
        }
        if axes?.isEmpty == true { axes = nil }
        guard !ins.isEmpty, !ins[0].isEmpty else { throw refuse(n, "input 0 is missing") }
        let x = try data(ins[0], state)
        if axes == nil, int(n, "noop_with_empty_axes", 0) != 0 { emit(n, "identity", [x], [:], state); return }
        var a: [String: JSONValue] = ["function": .string(function), "keepdims": .bool(int(n, "keepdims", 1) != 0)]
        if let axes { a["axes"] = .array(axes.map { .int(Int64($0)) }) }
        emit(n, "reduce", [x], a, state)
    }

    /// If whose condition is known at import time (an initializer, a Constant, folded shape
    /// arithmetic): the taken branch's nodes are imported in its place, its initializers read
    /// as the model tensors the reader named (`branchTensors`), its outputs the If's outputs.
    func inlineIf(_ n: NodeProto, _ state: State) throws {
        guard let cond = n.inputs.first, !cond.isEmpty else { throw refuse(n, "the condition is missing") }
        let value: Double
        if let f = state.folded[cond], let v = scalar(f) {
            value = v
        } else if let t = constantTensor(cond, state), t.elementCount == 1 {
            value = try firstNumber(t)
        } else {
            throw Failure(reason: "unsupported: If with a data-dependent condition at node '\(n.name)' (its condition '\(cond)' is computed at run time; Porter inlines an If only when the condition is a constant or folds from shapes)")
        }
        let branch = value != 0 ? "then_branch" : "else_branch"
        guard let g = attr(n, branch)?.g else { throw refuse(n, "its \(branch) is missing") }
        guard g.outputs.count == n.outputs.count else { throw refuse(n, "its \(branch) has \(g.outputs.count) outputs for the node's \(n.outputs.count)") }
        let names = branchTensors[Self.branchKey(n, branch)] ?? [:]
        for var inner in g.nodes {
            inner.inputs = inner.inputs.map { names[$0] ?? $0 }
            try importNode(inner, state)
        }
        for (k, (out, result)) in zip(n.outputs, g.outputs).enumerated() where !out.isEmpty {
            let source = names[result.name] ?? result.name
            if let f = state.folded[source] { state.folded[out] = f }
            if let c = state.constants[source] ?? (state.folded[source] == nil ? initializers[source] : nil) {
                state.constants[out] = c
                state.shapes[out] = c.shape.dims.map { .known($0) }
                continue
            }
            if state.folded[source] != nil { continue }
            let base = n.name.isEmpty ? "If_\(state.nodes.count)" : n.name
            emit(base + (k == 0 ? "" : "#\(k)"), "identity", [try data(source, state)], [out], [:], state)
        }
    }

    // MARK: folds

    /// Folds of shape values beyond `fold`'s: Slice of a shape, ReduceProd of one, and
    /// comparisons of scalars (an If's condition).
    func foldMore(_ n: NodeProto, _ f: [Folded], _ state: State) throws -> Bool {
        guard let out = n.outputs.first else { return false }
        func known(_ v: [Sym]) -> [Int]? {
            var r: [Int] = []
            for s in v { guard case let .known(k) = s else { return nil }; r.append(k) }
            return r
        }
        // Known integers with their shape (a vector's symbolic entries only where nothing moves them).
        func grid(_ v: Folded) -> (values: [Int], shape: [Int])? {
            switch v {
            case let .tensor(values, shape): return (values, shape)
            case let .ints(syms, scalar): return known(syms).map { ($0, scalar ? [] : [$0.count]) }
            case .float: return nil
            }
        }
        func result(_ values: [Int], _ shape: [Int]) -> Folded {
            shape.count >= 2 ? .tensor(values, shape: shape) : .ints(values.map { .known($0) }, scalar: shape.isEmpty)
        }
        switch n.opType {
        case "Slice":
            guard f.count >= 3, case let .ints(s, _) = f[1], case let .ints(e, _) = f[2], let start = known(s), let end = known(e),
                  start.count == end.count, !start.isEmpty else { return false }
            var axes = Array(start.indices), steps = start.map { _ in 1 }
            if f.count > 3 { guard case let .ints(ax, _) = f[3], let a = known(ax), a.count == start.count else { return false }; axes = a }
            if f.count > 4 { guard case let .ints(st, _) = f[4], let k = known(st), k.count == start.count, !k.contains(0) else { return false }; steps = k }
            // A vector with symbolic entries: one axis, step 1 (the common shape slice).
            if case let .ints(vec, false) = f[0], known(vec) == nil {
                guard axes == [0] || axes == [-1], steps == [1] else { return false }
                let (b, count) = sliceBounds(length: vec.count, start: start[0], end: end[0], step: 1)
                state.folded[out] = .ints(Array(vec[b..<(b + count)]), scalar: false)
                return true
            }
            guard var (values, shape) = grid(f[0]), !shape.isEmpty else { return false }
            for (k, axis0) in axes.enumerated() {
                let axis = axis0 < 0 ? axis0 + shape.count : axis0
                guard (0..<shape.count).contains(axis) else { throw refuse(n, "axis \(axis0) of a rank-\(shape.count) value") }
                let (b, count) = sliceBounds(length: shape[axis], start: start[k], end: end[k], step: steps[k])
                let inner = shape[(axis + 1)...].reduce(1, *), outer = shape[..<axis].reduce(1, *)
                var next: [Int] = []
                for o in 0..<outer { for i in 0..<count { let src = (o * shape[axis] + b + i * steps[k]) * inner; next += values[src..<(src + inner)] } }
                values = next
                shape[axis] = count
            }
            state.folded[out] = result(values, shape)
        case "Reshape":
            guard f.count == 2, let (values, shape) = grid(f[0]), case let .ints(t, false) = f[1], let target = known(t),
                  values.count <= foldedTensorLimit else { return false }
            var dims = target.enumerated().map { i, d in d == 0 && int(n, "allowzero", 0) == 0 && i < shape.count ? shape[i] : d }
            if let hole = dims.firstIndex(of: -1) {
                let rest = dims.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
                guard rest > 0, values.count % rest == 0 else { throw refuse(n, "cannot reshape \(shape) to \(target)") }
                dims[hole] = values.count / rest
            }
            guard dims.allSatisfy({ $0 >= 0 }), dims.reduce(1, *) == values.count else { throw refuse(n, "cannot reshape \(shape) to \(target)") }
            state.folded[out] = result(values, dims)
        case "Transpose":
            guard f.count == 1, let (values, shape) = grid(f[0]) else { return false }
            let perm = ints(n, "perm") ?? Array(shape.indices.reversed())
            guard perm.count == shape.count, Set(perm) == Set(shape.indices) else { throw refuse(n, "perm \(perm) for a rank-\(shape.count) value") }
            let outShape = perm.map { shape[$0] }
            let strides = shape.indices.map { shape[($0 + 1)...].reduce(1, *) }
            var next = [Int](repeating: 0, count: values.count)
            var index = [Int](repeating: 0, count: shape.count)
            for i in 0..<values.count {
                var src = 0
                for (a, p) in perm.enumerated() { src += index[a] * strides[p] }
                next[i] = values[src]
                var a = index.count - 1
                while a >= 0 { index[a] += 1; if index[a] < outShape[a] { break }; index[a] = 0; a -= 1 }
            }
            state.folded[out] = result(next, outShape)
        case "ReduceProd":
            guard case let .ints(vec, _) = f[0], let v = known(vec), n.inputs.count == 1 else { return false }
            var p = 1
            for d in v {
                let (r, o) = p.multipliedReportingOverflow(by: d)
                guard !o else { throw refuse(n, "the product of \(v) overflows") }
                p = r
            }
            state.folded[out] = .ints([.known(p)], scalar: int(n, "keepdims", 1) == 0)
        case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual":
            guard f.count == 2, case let .ints(a, true) = f[0], case let .ints(b, true) = f[1] else { return false }
            let truth: Bool
            if n.opType == "Equal", a[0] == b[0] {
                truth = true
            } else {
                guard case let .known(x) = a[0], case let .known(y) = b[0] else { return false }
                switch n.opType {
                case "Equal": truth = x == y
                case "Less": truth = x < y
                case "Greater": truth = x > y
                case "LessOrEqual": truth = x <= y
                default: truth = x >= y
                }
            }
            state.folded[out] = .ints([.known(truth ? 1 : 0)], scalar: true)
        case "Not":
            guard f.count == 1, case let .ints(a, true) = f[0], case let .known(x) = a[0] else { return false }
            state.folded[out] = .ints([.known(x == 0 ? 1 : 0)], scalar: true)
        default:
            return false
        }
        return true
    }

    // MARK: symbolic shapes

    /// Output dims of the ops `propagate` does not know: convolutions and pools (so a Shape
    /// after a Conv folds), flatten, concat, pad and this file's ops.
    func propagateMore(_ node: GraphNode, _ state: State) -> [Sym]? {
        guard let out = node.outputs.first else { return nil }
        func s(_ i: Int) -> [Sym]? { i < node.inputs.count ? state.shapes[node.inputs[i]] : nil }
        func ints(_ key: String) -> [Int]? { node.attributes[key].flatMap { v in v.intValue.map { [$0] } ?? v.arrayValue?.compactMap(\.intValue) } }
        let a = node.attributes
        switch node.op {
        case "conv1d", "conv2d", "max_pool", "avg_pool":
            guard let x = s(0), x.count >= 3, a["data_format"]?.stringValue == "channels_first" else { return nil }
            let spatial = x.count - 2
            let kernel: [Int], channels: Sym
            if node.op.hasPrefix("conv") {
                guard let k = s(1), k.count == x.count, case let .known(o) = k[0] else { return nil }
                var ks: [Int] = []
                for d in k.dropFirst(2) { guard case let .known(v) = d else { return nil }; ks.append(v) }
                kernel = ks
                channels = .known(o)
            } else {
                guard let k = ints("kernel"), k.count == spatial else { return nil }
                kernel = k
                channels = x[1]
            }
            let strides = ints("strides") ?? [Int](repeating: 1, count: spatial)
            let dilations = ints("dilations") ?? [Int](repeating: 1, count: spatial)
            guard strides.count == spatial, dilations.count == spatial, strides.allSatisfy({ $0 >= 1 }) else { return nil }
            var result: [Sym] = [x[0], channels]
            for i in 0..<spatial {
                guard case let .known(n) = x[2 + i] else { result.append(.dim(out, 2 + i)); continue }
                let extent = (kernel[i] - 1) * dilations[i] + 1
                let length: Int
                switch a["padding"] {
                case .some(.string("same")): length = (n + strides[i] - 1) / strides[i]
                case let .some(.array(p)) where p.count == 2 * spatial:
                    let before = p[2 * i].intValue ?? 0, after = p[2 * i + 1].intValue ?? 0
                    length = (n + before + after - extent) / strides[i] + 1
                default: length = (n - extent) / strides[i] + 1
                }
                result.append(.known(length))
            }
            return result
        case "global_avg_pool", "global_max_pool":
            guard let x = s(0), x.count >= 3 else { return nil }
            return [x[0], x[1]] + [Sym](repeating: .known(1), count: x.count - 2)
        case "conv_transpose":
            guard let x = s(0), let k = s(1), x.count == k.count, x.count >= 3, case let .known(opg) = k[1] else { return nil }
            let spatial = x.count - 2
            let groups = a["groups"]?.intValue ?? 1
            let strides = ints("strides") ?? [Int](repeating: 1, count: spatial), dilations = ints("dilations") ?? [Int](repeating: 1, count: spatial)
            let pads = ints("pads") ?? [Int](repeating: 0, count: 2 * spatial), extra = ints("output_padding") ?? [Int](repeating: 0, count: spatial)
            guard strides.count == spatial, dilations.count == spatial, pads.count == 2 * spatial, extra.count == spatial else { return nil }
            var result: [Sym] = [x[0], .known(opg * groups)]
            for i in 0..<spatial {
                guard case let .known(n) = x[2 + i], case let .known(kd) = k[2 + i] else { result.append(.dim(out, 2 + i)); continue }
                result.append(.known(strides[i] * (n - 1) + extra[i] + (kd - 1) * dilations[i] + 1 - pads[i] - pads[spatial + i]))
            }
            return result
        case "instance_norm":
            return s(0)
        case "flatten":
            guard let x = s(0), var axis = a["axis"]?.intValue else { return nil }
            if axis < 0 { axis += x.count }
            guard (0...x.count).contains(axis) else { return nil }
            func product(_ d: ArraySlice<Sym>) -> Sym {
                if d.count == 1 { return d.first! }
                var p = 1
                for v in d { guard case let .known(k) = v else { return .dim(out, 0) }; p *= k }
                return .known(p)
            }
            return [axis == 0 ? .known(1) : product(x[..<axis]), product(x[axis...])].enumerated().map { i, v in
                if case .dim = v { return .dim(out, i) }
                return v
            }
        case "concat":
            guard let first = s(0), var axis = a["axis"]?.intValue else { return nil }
            if axis < 0 { axis += first.count }
            guard (0..<first.count).contains(axis) else { return nil }
            var total = 0
            for i in node.inputs.indices {
                guard let x = s(i), x.count == first.count, case let .known(k) = x[axis] else { var r = first; r[axis] = .dim(out, axis); return r }
                total += k
            }
            var r = first
            r[axis] = .known(total)
            return r
        case "pad":
            guard var x = s(0), let p = ints("pads"), p.count == 2 * x.count else { return nil }
            for i in x.indices where p[2 * i] != 0 || p[2 * i + 1] != 0 {
                if case let .known(k) = x[i] { x[i] = .known(k + p[2 * i] + p[2 * i + 1]) } else { x[i] = .dim(out, i) }
            }
            return x
        case "tile":
            guard let x = s(0), let r = ints("repeats"), r.count == x.count else { return nil }
            return zip(x, r).enumerated().map { i, p in
                if p.1 == 1 { return p.0 }
                if case let .known(k) = p.0 { return .known(k * p.1) }
                return .dim(out, i)
            }
        case "reduce", "mean":
            guard let x = s(0) else { return nil }
            let axes = Set((ints("axes") ?? Array(x.indices)).map { $0 < 0 ? $0 + x.count : $0 })
            let keep = a["keepdims"]?.boolValue ?? true
            return keep ? x.indices.map { axes.contains($0) ? .known(1) : x[$0] } : x.indices.filter { !axes.contains($0) }.map { x[$0] }
        case "split":
            guard let x = s(0), var axis = a["axis"]?.intValue, let sizes = ints("sizes"), sizes.count == node.outputs.count else { return nil }
            if axis < 0 { axis += x.count }
            guard (0..<x.count).contains(axis) else { return nil }
            for (o, size) in zip(node.outputs, sizes) {
                var r = x
                r[axis] = .known(size)
                state.shapes[o] = r
            }
            return state.shapes[out]
        case "lstm":
            guard let x = s(0), x.count == 3, let hidden = a["hidden_size"]?.intValue, node.outputs.count == 3 else { return nil }
            let dirs: Sym = .known(a["direction"]?.stringValue == "bidirectional" ? 2 : 1)
            for o in node.outputs.dropFirst() { state.shapes[o] = [dirs, x[1], .known(hidden)] }
            return [x[0], dirs, x[1], .known(hidden)]
        case "range":
            return [.dim(out, 0)]
        default:
            return nil
        }
    }
}
