import Foundation
import CPorterRuntime
import PorterArchitectures
import PorterCore
@testable import PorterRuntime
import Testing

/// The kernels of issue 14 against the paths they replace or a plain reference: the GEMM
/// backends against a naive triple loop (edge sizes, transposes, leading dimensions wider
/// than the columns, α/β), the block-copy slice against an element-by-element one, the
/// vectorised tanh-GELU against libm, and the fused attention against the same graph run
/// node by node, on odd shapes.
@Suite struct SpeedKernelTests {
    // MARK: GEMM

    struct GEMMCase: CustomTestStringConvertible, Sendable {
        var m, n, k: Int
        var transA = false, transB = false
        var padA = 0, padB = 0, padC = 0
        var alpha: Float = 1, beta: Float = 0
        var testDescription: String {
            "\(m)×\(n)×\(k) \(transA ? "Aᵀ" : "A")·\(transB ? "Bᵀ" : "B") pad \(padA)/\(padB)/\(padC) α\(alpha) β\(beta)"
        }
    }

    static let gemmCases: [GEMMCase] = [
        GEMMCase(m: 1, n: 1, k: 1),
        GEMMCase(m: 3, n: 5, k: 7),
        GEMMCase(m: 17, n: 1, k: 33, transB: true),
        GEMMCase(m: 1, n: 19, k: 5, transA: true),
        GEMMCase(m: 4, n: 6, k: 0),
        GEMMCase(m: 4, n: 6, k: 0, beta: 0.5),
        GEMMCase(m: 13, n: 11, k: 9, transA: true, transB: true, padA: 3, padB: 5, padC: 2),
        GEMMCase(m: 7, n: 9, k: 31, padA: 1, padB: 2, padC: 3, alpha: 0.125, beta: 1),
        GEMMCase(m: 5, n: 3, k: 2, transB: true, padA: 4, padB: 1, padC: 7, alpha: -2, beta: 0.25),
        GEMMCase(m: 65, n: 129, k: 257, transB: true, padA: 1, padC: 1),
        GEMMCase(m: 300, n: 97, k: 64, transA: true, padB: 3),
    ]

    /// Deterministic values in [-1, 1): ((i·multiplier + offset) mod modulus) scaled.
    static func pattern(_ count: Int, multiplier: Int, offset: Int, modulus: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(count)
        let half = Float(modulus) / 2
        for i in 0..<count {
            let r: Int = (i * multiplier + offset) % modulus
            out.append((Float(r) - half) / half)
        }
        return out
    }

    /// C = α·op(A)·op(B) + β·C in double, row-major with the given leading dimensions.
    static func referenceGEMM(_ c: GEMMCase, a: [Float], lda: Int, b: [Float], ldb: Int, cIn: [Float], ldc: Int) -> [Float] {
        var out = cIn
        for i in 0..<c.m {
            for j in 0..<c.n {
                var acc = 0.0
                for p in 0..<c.k {
                    let x = c.transA ? a[p * lda + i] : a[i * lda + p]
                    let y = c.transB ? b[j * ldb + p] : b[p * ldb + j]
                    acc += Double(x) * Double(y)
                }
                let old = c.beta == 0 ? 0 : Double(c.beta) * Double(cIn[i * ldc + j])
                out[i * ldc + j] = Float(Double(c.alpha) * acc + old)
            }
        }
        return out
    }

    @Test(arguments: GEMMBackend.allCases, gemmCases)
    func gemmMatchesReference(backend: GEMMBackend, c: GEMMCase) throws {
        guard backend.isAvailable else { return }
        let (rowsA, colsA) = c.transA ? (c.k, c.m) : (c.m, c.k)
        let (rowsB, colsB) = c.transB ? (c.n, c.k) : (c.k, c.n)
        let lda = max(colsA, 1) + c.padA, ldb = max(colsB, 1) + c.padB, ldc = c.n + c.padC
        let a: [Float] = Self.pattern(max(rowsA * lda, 1), multiplier: 37, offset: 11, modulus: 23)
        let b: [Float] = Self.pattern(max(rowsB * ldb, 1), multiplier: 29, offset: 5, modulus: 19)
        // β = 0 must not read C: NaN there would leak into the result.
        let cIn: [Float] = c.beta == 0 ? [Float](repeating: .nan, count: c.m * ldc) : Self.pattern(c.m * ldc, multiplier: 13, offset: 0, modulus: 7)
        let want = Self.referenceGEMM(c, a: a, lda: lda, b: b, ldb: ldb, cIn: cIn, ldc: ldc)
        var got = cIn
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in got.withUnsafeMutableBufferPointer { pc in
            sgemm(backend: backend, transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, a: pa.baseAddress!, lda: lda,
                  b: pb.baseAddress!, ldb: ldb, beta: c.beta, c: pc.baseAddress!, ldc: ldc, alpha: c.alpha)
        } } }
        for i in 0..<c.m {
            for j in 0..<ldc {
                let (x, y) = (got[i * ldc + j], want[i * ldc + j])
                if j >= c.n {
                    // Padding columns of C are left exactly as they were.
                    #expect(x.bitPattern == cIn[i * ldc + j].bitPattern, "\(backend) padding (\(i), \(j)) touched")
                } else {
                    let scale: Float = max(1, abs(y)) * Float(max(c.k, 1)).squareRoot()
                    let limit: Float = 1e-5 * scale
                    #expect(abs(x - y) <= limit, "\(backend) (\(i), \(j)): \(x) vs \(y)")
                }
            }
        }
    }

    /// Where oneDNN is installed (CI installs libdnnl-dev), it is the GEMM unless PORTER_GEMM says otherwise.
    @Test func oneDNNChosenWhereInstalled() {
        let installed = ["/usr/lib/x86_64-linux-gnu/libdnnl.so.2", "/usr/lib/aarch64-linux-gnu/libdnnl.so.2", "/usr/lib/libdnnl.so.2"]
            .contains { FileManager.default.fileExists(atPath: $0) }
        let env = ProcessInfo.processInfo.environment["PORTER_GEMM"]
        if installed && env == nil {
            #expect(GEMMBackend.active == .onednn)
            #expect(GEMMBackend.onednnVersion != nil)
        }
        if env == "openblas" { #expect(GEMMBackend.active == .openblas) }
        if !installed { #expect(GEMMBackend.active == .openblas) }
    }

    // MARK: slice

    /// The element-by-element slice the block copy replaced.
    static func referenceSlice<T>(_ x: [T], outer: Int, length: Int, inner: Int, start: Int, count: Int, step: Int) -> [T] {
        var out: [T] = []
        for o in 0..<outer {
            for k in 0..<count {
                for e in 0..<inner { out.append(x[(o * length + start + k * step) * inner + e]) }
            }
        }
        return out
    }

    @Test(arguments: [
        ([3, 7, 5], 1, 2, 6, 1), ([3, 7, 5], 1, 0, 7, 3), ([2, 9], -1, 1, 8, 2), ([5, 1, 3], 0, 1, 4, 2),
        ([4, 6, 2, 3], 2, 1, 2, 1), ([1, 2304], -1, 768, 1536, 1), ([2, 3, 0], 1, 0, 3, 1), ([3, 4], 1, 2, 2, 1),
        ([70_000], 0, 3, 69_999, 1), ([257, 300], 1, 1, 299, 3),
    ] as [([Int], Int, Int, Int, Int)])
    func sliceMatchesElementwise(shape: [Int], axis: Int, start: Int, end: Int, step: Int) throws {
        let count = shape.reduce(1, *)
        let floats: [Float] = (0..<count).map { (v: Int) -> Float in Float(v) * 0.5 - 3 }
        let ints: [Int64] = (0..<count).map { (v: Int) -> Int64 in Int64(v) * 3 - 7 }
        let attrs: [String: JSONValue] = ["axis": .int(Int64(axis)), "start": .int(Int64(start)), "end": .int(Int64(end)), "step": .int(Int64(step))]
        let a = axis < 0 ? axis + shape.count : axis
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        let length = shape[a]
        let (s, e) = (min(start, length), min(end, length))
        let n = e > s ? (e - s + step - 1) / step : 0
        var outShape = shape
        outShape[a] = n
        let gotF = try run1("slice", [f(shape, floats)], attrs)
        #expect(gotF.shape == outShape)
        #expect(gotF.floatValues == Self.referenceSlice(floats, outer: outer, length: length, inner: inner, start: s, count: n, step: step))
        let gotI = try run1("slice", [i(shape, ints)], attrs)
        #expect(gotI.int64s == Self.referenceSlice(ints, outer: outer, length: length, inner: inner, start: s, count: n, step: step))
    }

    // MARK: tanh-GELU

    /// The vectorised tanh-GELU against the libm form in double, on a dense range (every SIMD
    /// lane and the scalar tail) and the edges; the fused linear+gelu uses the same kernel.
    @Test func geluTanhKernelMatchesScalar() throws {
        let dense: [Float] = (0..<200_003).map { (v: Int) -> Float in Float(v) / 10_000 - 10 }
        let edges: [Float] = [0, -0.0, 87, -87, 1e30, -1e30, .infinity, .greatestFiniteMagnitude]
        let xs: [Float] = dense + edges
        let out = try run1("gelu", [f([xs.count], xs)], ["approximate": "tanh"]).floatValues
        var worst = 0.0
        for (x, y) in zip(xs.dropLast(4), out) {
            let d = Double(x)
            let exact = 0.5 * d * (1 + tanh(0.79788456080286536 * (d + 0.044715 * d * d * d)))
            worst = max(worst, abs(Double(y) - exact) / max(1, abs(exact)))
        }
        #expect(worst < 1e-6, "max error \(worst)")
        #expect(out.suffix(4) == [1e30, 0, .infinity, .greatestFiniteMagnitude])
        #expect(try run1("gelu", [f([1], [.nan])], ["approximate": "tanh"]).floatValues[0].isNaN)
        // Against the scalar kernel it replaced, element by element.
        let worstVsScalar = zip(xs.dropLast(4), out).map { x, y in abs(y - geluTanh(x)) / max(1, abs(x)) }.max() ?? 0
        #expect(worstVsScalar <= 1e-6, "max difference \(worstVsScalar)")
    }

    // MARK: layer norm

    /// The vectorised layer norm against a double-precision reference (with and without γ/β),
    /// on widths around the 16-lane blocks.
    @Test(arguments: [(1, 1), (3, 7), (5, 16), (4, 17), (2, 33), (9, 771)])
    func layerNormMatchesReference(rows: Int, width: Int) throws {
        let x: [Float] = (0..<(rows * width)).map { (v: Int) -> Float in Float((v * 31 + 7) % 29) / 7 - 2 + Float(v / width) }
        let gamma: [Float] = (0..<width).map { (v: Int) -> Float in Float(v % 5) * 0.3 + 0.4 }
        let beta: [Float] = (0..<width).map { (v: Int) -> Float in Float(v % 3) * 0.2 - 0.2 }
        for affine in [true, false] {
            let inputs: [HostTensor?] = affine ? [f([rows, width], x), f([width], gamma), f([width], beta)] : [f([rows, width], x)]
            let got = try run1("layer_norm", inputs, ["axis": -1, "epsilon": 1e-5]).floatValues
            for r in 0..<rows {
                let row = x[(r * width)..<((r + 1) * width)].map(Double.init)
                let mean = row.reduce(0, +) / Double(width)
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
                for j in 0..<width {
                    var want = (row[j] - mean) / (variance + 1e-5).squareRoot()
                    if affine { want = want * Double(gamma[j]) + Double(beta[j]) }
                    #expect(abs(Double(got[r * width + j]) - want) <= 1e-5 * max(1, abs(want)), "row \(r) col \(j)")
                }
            }
        }
    }

    // MARK: fused attention

    /// q from `x`, k and v from `y` (cross attention when the lengths differ), through
    /// `GraphBuilding.attention` as the architecture builders lay it out.
    static func attentionGraph(heads: Int, headDim: Int, scale: Double?, mask: String?, alsoOutputProbs: Bool = false) -> Graph {
        var g = GraphBuilding()
        let width = heads * headDim
        let context = g.attention("att", query: "x", key: "y", value: "yv", mask: mask == nil ? nil : "m", heads: heads, headDim: headDim, scale: scale)
        var outputs = [GraphValue(name: context, dtype: .f32, shape: [-1, -1, width])]
        if alsoOutputProbs { outputs.append(GraphValue(name: "att.probs", dtype: .f32, shape: [-1, heads, -1, -1])) }
        var inputs = [GraphValue(name: "x", dtype: .f32, shape: [-1, -1, width]), GraphValue(name: "y", dtype: .f32, shape: [-1, -1, width]),
                      GraphValue(name: "yv", dtype: .f32, shape: [-1, -1, width])]
        if mask != nil { inputs.append(GraphValue(name: "m", dtype: .f32, shape: [-1, -1, -1, -1])) }
        return Graph(inputs: inputs, outputs: outputs, nodes: g.nodes, origin: "test")
    }

    @Test(arguments: [
        // batch, q length, k length, heads, head dim, scale, mask shape ([] = none)
        (2, 5, 5, 3, 7, 0.37, [2, 1, 1, 5]), (1, 1, 1, 1, 1, nil, []), (3, 4, 9, 2, 5, 0.5, [3, 1, 4, 9]),
        (2, 6, 6, 4, 3, nil, [1, 1, 6, 6]), (1, 17, 17, 5, 13, 0.125, [1, 5, 17, 17]), (2, 3, 7, 1, 8, 1.0, [7]),
    ] as [(Int, Int, Int, Int, Int, Double?, [Int])])
    func fusedAttentionMatchesNodeByNode(batch: Int, sq: Int, sk: Int, heads: Int, headDim: Int, scale: Double?, maskShape: [Int]) throws {
        let graph = Self.attentionGraph(heads: heads, headDim: headDim, scale: scale, mask: maskShape.isEmpty ? nil : "m")
        let executor = try GraphExecutor(graph: graph, weights: TensorStore())
        #expect(executor.fusedSteps.map { $0.label(graph) } == ["attention(fused)"])
        let width = heads * headDim
        var inputs: [String: HostTensor] = [
            "x": FusionTests.input([batch, sq, width], seed: 1), "y": FusionTests.input([batch, sk, width], seed: 2),
            "yv": FusionTests.input([batch, sk, width], seed: 3),
        ]
        if !maskShape.isEmpty {
            // Padding-style masks: the lowest float on some keys, never on a whole row.
            let n = maskShape.reduce(1, *), last = maskShape.last!
            let maskValues: [Float] = (0..<n).map { (v: Int) -> Float in (v % last) % 3 == 2 ? lowest : Float(v % 5) * 0.1 }
            inputs["m"] = HostTensor(shape: maskShape, floats: maskValues)
        }
        try FusionTests.expectFusedEqualsUnfused(executor, inputs)
        // The probabilities also a graph output: a second reader, so nothing is fused across them.
        let kept = try GraphExecutor(graph: Self.attentionGraph(heads: heads, headDim: headDim, scale: scale, mask: maskShape.isEmpty ? nil : "m",
                                                                 alsoOutputProbs: true), weights: TensorStore())
        #expect(!kept.fusedSteps.map { $0.label(graph) }.contains("attention(fused)"))
    }

    /// Shapes the fused kernel does not take (mask too large to broadcast into the scores) fall
    /// back to the nodes, which report the mismatch as before.
    @Test func fusedAttentionDeclinesUnfitMask() throws {
        let graph = Self.attentionGraph(heads: 2, headDim: 3, scale: 0.5, mask: "m")
        let executor = try GraphExecutor(graph: graph, weights: TensorStore())
        let inputs: [String: HostTensor] = [
            "x": FusionTests.input([1, 4, 6], seed: 1), "y": FusionTests.input([1, 4, 6], seed: 2), "yv": FusionTests.input([1, 4, 6], seed: 3),
            "m": HostTensor(shape: [2, 2, 4, 4], floats: [Float](repeating: 0, count: 64)),
        ]
        var probe = inputs
        #expect(try executor.runFused(executor.fusedSteps[0], values: &probe) == false)
        // The unfused nodes broadcast the mask to batch 2 rather than failing silently: results match node by node.
        let fused = try executor.run(inputs), unfused = try executor.run(inputs, captureIntermediates: true)
        #expect(fused.outputs.values.first?.floatValues == unfused.outputs.values.first?.floatValues)
    }
}
