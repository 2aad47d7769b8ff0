import PorterCore

/// Shape arithmetic over dims where -1 is dynamic.
public enum Dims {
    /// One dim of a NumPy broadcast; nil when both are known, differ and neither is 1.
    public static func broadcast(_ a: Int, _ b: Int) -> Int? {
        if a == b { return a }
        if a == 1 { return b }
        if b == 1 { return a }
        if a < 0 { return b }
        if b < 0 { return a }
        return nil
    }

    /// NumPy broadcast of two shapes; nil on a certain mismatch.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out: [Int] = []
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard let d = broadcast(da, db) else { return nil }
            out.append(d)
        }
        return out
    }

    /// Product of dims, -1 when any is dynamic (or the product overflows).
    public static func product<S: Sequence>(_ dims: S) -> Int where S.Element == Int {
        var n = 1
        for d in dims {
            if d < 0 { return -1 }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            if o { return -1 }
            n = p
        }
        return n
    }

    /// Two dims that must be equal: the known one, or nil when both are known and differ.
    public static func unify(_ a: Int, _ b: Int) -> Int? {
        if a < 0 { return b }
        if b < 0 || a == b { return a }
        return nil
    }

    /// `a` and `b` are both known and differ.
    public static func conflict(_ a: Int, _ b: Int) -> Bool { a >= 0 && b >= 0 && a != b }

    /// `shape` with dims, or `rank` dynamic dims when the shape is not known.
    static func orDynamic(_ shape: [Int]?, rank: Int) -> [Int] { shape ?? [Int](repeating: -1, count: rank) }
}

/// f32 when either side is f32, i64 when both are, nil otherwise (the runtime's rule for
/// arithmetic that keeps integers integral).
func arithmeticType(_ types: [ValueType]) -> DType? {
    if types.allSatisfy({ $0.dtype == .i64 }) { return .i64 }
    if types.contains(where: { $0.dtype == .f32 }) { return .f32 }
    return nil
}

/// The runtime's convolution / pooling padding of one spatial axis: (before, after).
func spatialPadding(_ mode: AttributeValue?, axis: Int, spatialRank: Int, input: Int, kernel: Int, stride: Int, dilation: Int,
                    ctx: InferenceContext) throws -> (Int, Int)? {
    let extent = (kernel - 1) * dilation + 1
    switch mode {
    case nil, .some(.string("valid")):
        return (0, 0)
    case .some(.string("same")):
        guard input >= 0 else { return nil }
        let out = (input + stride - 1) / stride
        let total = max((out - 1) * stride + extent - input, 0)
        return (total / 2, total - total / 2)
    case let .some(.ints(list)):
        if list.count == 1 { return (list[0], list[0]) }
        if list.count == spatialRank { return (list[axis], list[axis]) }
        if list.count == 2 * spatialRank { return (list[2 * axis], list[2 * axis + 1]) }
        throw ctx.badAttribute("padding", "has \(list.count) numbers; expected \(spatialRank) (symmetric) or \(2 * spatialRank) (before/after per axis)")
    default:
        throw ctx.badAttribute("padding", "must be \"valid\", \"same\" or a list of integers")
    }
}

/// A per-spatial-axis list attribute (one value for all axes, or one per axis, each ≥ 1).
func spatialList(_ ctx: InferenceContext, _ key: String, rank: Int, default value: [Int]) throws -> [Int] {
    guard let list = try ctx.attributes.optionalInts(key) else { return value }
    if list.count == 1, list[0] >= 1 { return [Int](repeating: list[0], count: rank) }
    guard list.count == rank, list.allSatisfy({ $0 >= 1 }) else { throw ctx.badAttribute(key, "needs \(rank) positive numbers, has \(list)") }
    return list
}

/// Output length of a window sliding over `input` (dynamic stays dynamic); a window larger
/// than the padded input is an error.
func windowOutput(input: Int, kernel: Int, stride: Int, dilation: Int, pad: (Int, Int)?, ctx: InferenceContext) throws -> Int {
    guard input >= 0, kernel >= 0, let pad else { return -1 }
    let out = (input + pad.0 + pad.1 - ((kernel - 1) * dilation + 1)) / stride + 1
    guard out >= 1 else {
        throw ctx.mismatch("the window (\(kernel), dilation \(dilation)) is larger than the padded input (\(input + pad.0 + pad.1))")
    }
    return out
}

/// The elements a slice takes along an axis of `length`, by ONNX's rules: negative indices count
/// from the end; a positive step clamps start and end to [0, length], a negative one start to
/// [0, length − 1] and end to [−1, length − 1] (so a reversed slice can reach index 0). Returns the
/// first index and how many (`step` must not be 0).
public func sliceBounds(length: Int, start: Int, end: Int, step: Int) -> (first: Int, count: Int) {
    func wrap(_ i: Int) -> Int { i < 0 ? (i < -length ? Int.min / 2 : i + length) : i }
    if step > 0 {
        let b = min(max(wrap(start), 0), length), e = min(max(wrap(end), 0), length)
        return (b, e > b ? (e - b - 1) / step + 1 : 0)
    }
    let b = min(max(wrap(start), 0), length - 1), e = min(max(wrap(end), -1), length - 1)
    return (b, b > e ? (b - e - 1) / (-step) + 1 : 0)
}
