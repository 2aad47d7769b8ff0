import Foundation
import PorterCore
import CBLAS
import CPorterRuntime

/// The library that computes the runtime's matrix products, chosen by measurement on this
/// machine (docs/benchmarks.md): oneDNN's `dnnl_sgemm` where `libdnnl.so.2` loads (it has
/// AVX-512 kernels; Debian's OpenBLAS 0.3.21 runs its Haswell ones here), else OpenBLAS's
/// `cblas_sgemm`. `PORTER_GEMM=openblas` (or `onednn`) chooses; an unavailable choice falls
/// back to OpenBLAS.
public enum GEMMBackend: String, Sendable, CaseIterable {
    case onednn, openblas

    /// The backend in use, decided once per process.
    public static let active: GEMMBackend = {
        let wanted = ProcessInfo.processInfo.environment["PORTER_GEMM"].flatMap(GEMMBackend.init(rawValue:))
        if wanted == .openblas { return .openblas }
        return porter_dnnl_available() != 0 ? .onednn : .openblas
    }()

    /// Whether this backend can run in this process.
    public var isAvailable: Bool { self == .openblas || porter_dnnl_available() != 0 }

    /// oneDNN's version (`2.6.3`) when it loaded, else nil.
    public static var onednnVersion: String? {
        let v = Int(porter_dnnl_version())
        return v == 0 ? nil : "\(v / 10000).\(v / 100 % 100).\(v % 100)"
    }
}

/// C[m×n] = α·op(A)·op(B) + β·C, row-major, through the active backend (`GEMMBackend`).
/// `threads` is how many threads oneDNN may use for this product (1 inside the runtime's own
/// parallel loops); OpenBLAS uses its global count. k = 0 gives β·C (C untouched is never read
/// when β = 0).
@inline(__always)
func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float = 1, threads: Int? = nil) {
    sgemm(backend: GEMMBackend.active, transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
          beta: beta, c: c, ldc: ldc, alpha: alpha, threads: threads)
}

/// `sgemm` through a chosen backend (tests compare both with a reference).
func sgemm(backend: GEMMBackend, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float = 1, threads: Int? = nil) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        for i in 0..<m {
            let row = c + i * ldc
            if beta == 0 { row.update(repeating: 0, count: n) } else if beta != 1 { for j in 0..<n { row[j] *= beta } }
        }
        return
    }
    if backend == .onednn, porter_dnnl_available() != 0 {
        porter_dnnl_set_num_threads(Int32(threads ?? RuntimeThreads.current))
        if porter_dnnl_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda),
                             b, Int64(ldb), beta, c, Int64(ldc)) == 0 { return }
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// BLAS takes 32-bit sizes: larger products are refused rather than truncated.
func checkGEMMSize(m: Int, n: Int, k: Int, ctx: NodeContext, shapes: [[Int]]) throws {
    let limit = Int(Int32.max)
    guard m <= limit, n <= limit, k <= limit, m * n <= limit * 8 else {
        throw ctx.shapeError("matrix product \(m)×\(k) · \(k)×\(n) exceeds the runtime's size limit", shapes)
    }
}

/// Batched matrix product over the last two axes with broadcast leading axes.
func batchedMatmul(_ a: [Float], _ sa: [Int], _ b: [Float], _ sb: [Int], transA: Bool, transB: Bool,
                   ctx: NodeContext, alpha: Float = 1) throws -> HostTensor {
    guard sa.count >= 2, sb.count >= 2 else { throw ctx.shapeError("matmul needs rank ≥ 2 operands", [sa, sb]) }
    let (ar, br) = (sa.count, sb.count)
    let m = transA ? sa[ar - 1] : sa[ar - 2]
    let ka = transA ? sa[ar - 2] : sa[ar - 1]
    let kb = transB ? sb[br - 1] : sb[br - 2]
    let n = transB ? sb[br - 2] : sb[br - 1]
    guard ka == kb else { throw ctx.shapeError("inner dimensions differ (\(ka) vs \(kb))", [sa, sb]) }
    try checkGEMMSize(m: m, n: n, k: ka, ctx: ctx, shapes: [sa, sb])
    let batchA = Array(sa.dropLast(2)), batchB = Array(sb.dropLast(2))
    guard let batch = broadcastShapes(batchA, batchB) else { throw ctx.shapeError("batch axes do not broadcast", [sa, sb]) }
    let batchCount = batch.reduce(1, *)
    var out: [Float] = uninitialized(batchCount * m * n)
    let lda = sa[ar - 1], ldb = sb[br - 1]
    let matA = sa[ar - 2] * sa[ar - 1], matB = sb[br - 2] * sb[br - 1]
    // One large GEMM when B is shared and A's rows stack (x · W).
    if batchB.reduce(1, *) == 1 && !transA && batchA == batch {
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { po in
            sgemm(transA: false, transB: transB, m: batchCount * m, n: n, k: ka, a: pa.baseAddress!, lda: lda,
                  b: pb.baseAddress!, ldb: ldb, beta: 0, c: po.baseAddress!, ldc: n, alpha: alpha)
        } } }
        return HostTensor(shape: batch + [m, n], floats: out)
    }
    let strideA = broadcastStrides(batchA, to: batch), strideB = broadcastStrides(batchB, to: batch)
    func offsets(_ index: Int) -> (Int, Int) {
        var rem = index, oa = 0, ob = 0
        for axis in stride(from: batch.count - 1, through: 0, by: -1) {
            let i = rem % batch[axis]
            rem /= batch[axis]
            oa += i * strideA[axis]
            ob += i * strideB[axis]
        }
        return (oa * matA, ob * matB)
    }
    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { po in
        nonisolated(unsafe) let (pa, pb, po) = (pa, pb, po)
        // Small products: one thread each, batches split across cores.
        let perChunk = max(1, (1 << 18) / max(1, m * n * ka))
        // One chunk: each product may use every thread; several: one thread per product.
        let threads: Int? = min(RuntimeThreads.current, batchCount / perChunk) > 1 ? 1 : nil
        parallelChunks(batchCount, minimumPerChunk: perChunk) { range in
            for i in range {
                let (oa, ob) = offsets(i)
                sgemm(transA: transA, transB: transB, m: m, n: n, k: ka, a: pa.baseAddress! + oa, lda: lda,
                      b: pb.baseAddress! + ob, ldb: ldb, beta: 0, c: po.baseAddress! + i * m * n, ldc: n, alpha: alpha,
                      threads: threads)
            }
        }
    } } }
    return HostTensor(shape: batch + [m, n], floats: out)
}

/// y = x·Wᵀ + b (`out_in`) or x·W + b (`in_out`) over the last axis.
func linearForward(x: [Float], xShape: [Int], weight: [Float], wShape: [Int], bias: [Float]?, outIn: Bool,
                   ctx: NodeContext) throws -> HostTensor {
    guard let inFeatures = xShape.last, wShape.count == 2 else { throw ctx.shapeError("linear needs x of rank ≥ 1 and a 2-D weight", [xShape, wShape]) }
    let (outF, inF) = outIn ? (wShape[0], wShape[1]) : (wShape[1], wShape[0])
    guard inF == inFeatures else { throw ctx.shapeError("weight expects \(inF) input features, x has \(inFeatures)", [xShape, wShape]) }
    if let bias, bias.count != outF { throw ctx.shapeError("bias has \(bias.count) elements, expected \(outF)", [xShape, wShape, [bias.count]]) }
    let rows = xShape.dropLast().reduce(1, *)
    try checkGEMMSize(m: rows, n: outF, k: inF, ctx: ctx, shapes: [xShape, wShape])
    var out: [Float] = bias == nil && inF > 0 ? uninitialized(rows * outF) : [Float](repeating: 0, count: rows * outF)
    if let bias {
        out.withUnsafeMutableBufferPointer { po in
            bias.withUnsafeBufferPointer { pb in
                for r in 0..<rows { (po.baseAddress! + r * outF).update(from: pb.baseAddress!, count: outF) }
            }
        }
    }
    if inF > 0 {
        x.withUnsafeBufferPointer { px in weight.withUnsafeBufferPointer { pw in out.withUnsafeMutableBufferPointer { po in
            sgemm(transA: false, transB: outIn, m: rows, n: outF, k: inF, a: px.baseAddress!, lda: inF,
                  b: pw.baseAddress!, ldb: outIn ? inF : outF, beta: bias == nil ? 0 : 1, c: po.baseAddress!, ldc: outF)
        } } }
    }
    return HostTensor(shape: Array(xShape.dropLast()) + [outF], floats: out)
}

/// Views `shape` around `axis` as [outer, length, inner].
func around(_ shape: [Int], axis: Int) -> (outer: Int, length: Int, inner: Int) {
    (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
}

func softmax(_ x: [Float], shape: [Int], axis: Int) -> [Float] {
    let (outer, length, inner) = around(shape, axis: axis)
    var out: [Float] = uninitialized(x.count)
    if length == 0 { return out }
    x.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in
        nonisolated(unsafe) let (p, o) = (p, o)
        parallelChunks(outer * inner, minimumPerChunk: max(1, 8192 / length)) { lanes in
            for lane in lanes {
                let base = (lane / inner) * length * inner + lane % inner
                var maxValue = -Float.infinity
                for j in 0..<length { maxValue = max(maxValue, p[base + j * inner]) }
                if maxValue == -.infinity { maxValue = 0 }
                var sum: Float = 0
                for j in 0..<length {
                    let e = expf(p[base + j * inner] - maxValue)
                    o[base + j * inner] = e
                    sum += e
                }
                let inv = 1 / sum
                for j in 0..<length { o[base + j * inner] *= inv }
            }
        }
    } }
    return out
}

let linearAlgebraKernels: KeyValuePairs<String, Kernel> = [
    "matmul": { ctx in
        try ctx.requireInputs(2...2)
        let (sa, a) = try ctx.floats(0)
        let (sb, b) = try ctx.floats(1)
        return [try batchedMatmul(a, sa, b, sb, transA: try ctx.attrs.bool("transpose_a"),
                                  transB: try ctx.attrs.bool("transpose_b"), ctx: ctx)]
    },
    "linear": { ctx in
        try ctx.requireInputs(2...3)
        let (sx, x) = try ctx.floats(0)
        var bias: [Float]? = nil
        if ctx.optionalInput(2) != nil { bias = try ctx.floats(2).values }
        if let pw = ctx.packedInput(1) {
            return [try packedLinear(x: x, xShape: sx, weight: pw, bias: bias, residual: nil, activation: nil, ctx: ctx)]
        }
        let (sw, w) = try ctx.floats(1)
        let layout = try ctx.attrs.string("weight_layout")
        guard layout == "out_in" || layout == "in_out" else { throw ctx.bad("weight_layout", "is '\(layout)'; expected \"out_in\" or \"in_out\"") }
        return [try linearForward(x: x, xShape: sx, weight: w, wShape: sw, bias: bias, outIn: layout == "out_in", ctx: ctx)]
    },
    "mean": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, x) = try ctx.floats(0)
        let axes = Set(try (ctx.attrs.optionalInts("axes") ?? Array(shape.indices)).map { try ctx.axis($0, rank: shape.count, key: "axes") })
        let keep = try ctx.attrs.bool("keepdims")
        let kept = shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
        let outStrides = broadcastStrides(kept, to: shape)
        var sums = [Double](repeating: 0, count: kept.reduce(1, *))
        let inStrides = stridesOf(shape)
        for (i, v) in x.enumerated() {
            var dst = 0
            for axis in shape.indices { dst += (i / inStrides[axis]) % shape[axis] * outStrides[axis] }
            sums[dst] += Double(v)
        }
        let n = Double(axes.reduce(1) { $0 * shape[$1] })
        let values = sums.map { Float($0 / n) }
        let outShape = keep ? kept : shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
        return [HostTensor(shape: outShape, floats: values)]
    },
    "softmax": { ctx in
        try ctx.requireInputs(1...1)
        let (shape, x) = try ctx.floats(0)
        let axis = try ctx.axis(try ctx.attrs.int("axis"), rank: shape.count)
        return [HostTensor(shape: shape, floats: softmax(x, shape: shape, axis: axis))]
    },
    "layer_norm": { ctx in
        try ctx.requireInputs(1...3)
        let (shape, x) = try ctx.floats(0)
        let axis = try ctx.axis(try ctx.attrs.int("axis"), rank: shape.count)
        let epsilon = Float(try ctx.attrs.number("epsilon"))
        let width = shape[axis...].reduce(1, *)
        let rows = width == 0 ? 0 : x.count / width
        let gamma = ctx.optionalInput(1) != nil ? try ctx.floats(1).values : nil
        let beta = ctx.optionalInput(2) != nil ? try ctx.floats(2).values : nil
        for p in [gamma, beta].compactMap({ $0 }) where p.count != width {
            throw ctx.shapeError("scale/shift have \(p.count) elements, the normalised axes \(width)", [shape, [p.count]])
        }
        var out: [Float] = uninitialized(x.count)
        x.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in
        (gamma ?? []).withUnsafeBufferPointer { pg in (beta ?? []).withUnsafeBufferPointer { pb in
            guard let src = p.baseAddress, let dst = o.baseAddress else { return }
            nonisolated(unsafe) let (px, po) = (src, dst)
            nonisolated(unsafe) let (scale, shift) = (gamma == nil ? nil : pg.baseAddress, beta == nil ? nil : pb.baseAddress)
            // Vectorised rows (CPorterRuntime), split across cores.
            parallelChunks(rows, minimumPerChunk: max(1, 16384 / max(width, 1))) { range in
                porter_layer_norm_rows(px + range.lowerBound * width, po + range.lowerBound * width, range.count, width, scale, shift, epsilon)
            }
        } } } }
        return [HostTensor(shape: shape, floats: out)]
    },
]
