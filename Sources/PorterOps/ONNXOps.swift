import PorterCore

// Ops the ONNX importer needs beyond the rest of the set (docs/ops.md, "Comparison, logic
// and selection"): comparisons and logic give int64 0 / 1 (the runtime has no bool
// kind: ONNX's BOOL values are int64 here), `where` selects, `cumsum`, `fill` (ConstantOfShape
// over dims of another value), `trilu`, `reciprocal`.

private func broadcastAll(_ c: InferenceContext, _ indices: [Int]) throws -> [Int]? {
    var shape: [Int]? = []
    for i in indices {
        guard let s = c.input(i).shape, let acc = shape else { shape = nil; continue }
        guard let b = Dims.broadcast(acc, s) else { throw c.mismatch("operands do not broadcast") }
        shape = b
    }
    return shape
}

private func comparison(_ name: String) -> OpSpec {
    OpSpec(name: name, inputs: [.required("a"), .required("b")]) { c in
        [ValueType(dtype: .i64, shape: try broadcastAll(c, [0, 1]))]
    }
}

let onnxOps: [OpSpec] = [
    comparison("equal"), comparison("less"), comparison("greater"), comparison("less_equal"), comparison("greater_equal"),
    comparison("logical_and"), comparison("logical_or"), comparison("logical_xor"),
    OpSpec(name: "logical_not", inputs: [.required("x")]) { c in [ValueType(dtype: .i64, shape: c.input(0).shape)] },
    OpSpec(name: "where", inputs: [.required("condition"), .required("a"), .required("b")]) { c in
        let (a, b) = (c.input(1), c.input(2))
        let dtype: DType? = a.dtype == .i64 && b.dtype == .i64 ? .i64 : (a.dtype == nil || b.dtype == nil ? nil : .f32)
        return [ValueType(dtype: dtype, shape: try broadcastAll(c, [0, 1, 2]))]
    },
    OpSpec(name: "cumsum", inputs: [.required("x")], attributes: [
        AttributeSpec("axis", .int, default: .required), AttributeSpec("exclusive", .bool, default: .value(.bool(false))),
        AttributeSpec("reverse", .bool, default: .value(.bool(false))),
    ]) { c in
        let x = c.input(0)
        if let r = x.rank { _ = try c.axis(try c.attributes.int("axis"), rank: r) }
        return [x]
    },
    OpSpec(name: "fill", inputs: [.required("like")], attributes: [
        AttributeSpec("dims", .ints), AttributeSpec("value", .number, default: .value(.number(0))),
        AttributeSpec("dtype", .string(allowed: ["f32", "i64"]), default: .value(.string("f32"))),
    ]) { c in
        let dtype: DType = try c.attributes.string("dtype") == "i64" ? .i64 : .f32
        let like = c.input(0).shape
        guard let dims = try c.attributes.optionalInts("dims") else { return [ValueType(dtype: dtype, shape: like)] }
        let shape = try dims.map { d -> Int in
            if d >= 0 { return d }
            guard d >= -(1 << 16) else { throw c.badAttribute("dims", "\(d) copies no dim") }
            let axis = -1 - d
            guard let like else { return -1 }
            guard axis < like.count else { throw c.badAttribute("dims", "\(d) copies dim \(axis) of a rank-\(like.count) value") }
            return like[axis]
        }
        return [ValueType(dtype: dtype, shape: shape)]
    },
    OpSpec(name: "trilu", inputs: [.required("x")], attributes: [
        AttributeSpec("upper", .bool, default: .value(.bool(true))), AttributeSpec("k", .int, default: .value(.int(0))),
    ]) { c in
        let x = c.input(0)
        if let r = x.rank, r < 2 { throw c.mismatch("trilu needs rank 2 or more, the input has rank \(r)") }
        return [x]
    },
    OpSpec(name: "reciprocal", inputs: [.required("x")]) { c in
        try c.requireFloat(0)
        return [ValueType(dtype: .f32, shape: c.input(0).shape)]
    },
]
