import Foundation
import CPorterKernels
import CPorterRuntime
import PorterCore
@testable import PorterRuntime
import Testing

/// The packed-weight GEMM (`porter_packed_gemm.c`, the runtime's `linear` on AVX-512 CPUs)
/// against a double-precision triple loop: sizes on both sides of the 8-row and 48-column
/// tiles and of the k-blocks (at most 768 deep, cut equally), both weight layouts, rows of A and C wider than the
/// matrix, bias, accumulation into C, activations, and panel ranges split as threads split
/// them. Then whole graphs run with the weights packed and unpacked.
@Suite struct PackedGEMMTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var m, n, k: Int
        var outIn = true
        var padA = 0, padC = 0
        var accumulate = false, bias = false
        var activation: PackedActivation? = nil
        /// C (the residual) scaled far above the products: the products must not be rounded
        /// at C's magnitude one by one.
        var residualScale: Float = 1
        var testDescription: String {
            "\(m)×\(n)×\(k) \(outIn ? "out_in" : "in_out") pad \(padA)/\(padC)\(accumulate ? " +C×\(residualScale)" : "")\(bias ? " +bias" : "") \(activation.map { "\($0)" } ?? "")"
        }
    }

    static let cases: [Case] = [
        Case(m: 1, n: 1, k: 1),
        Case(m: 8, n: 48, k: 768),
        Case(m: 9, n: 49, k: 769, padA: 3, padC: 5),
        Case(m: 10, n: 60, k: 1537, outIn: false, accumulate: true, bias: true, activation: .geluTanh),
        Case(m: 7, n: 47, k: 191, outIn: false, bias: true),
        Case(m: 17, n: 97, k: 385, accumulate: true, bias: true),
        Case(m: 33, n: 130, k: 400, outIn: false, padA: 1, padC: 2, accumulate: true),
        Case(m: 5, n: 96, k: 64, bias: true, activation: .geluErf),
        Case(m: 13, n: 50, k: 200, outIn: false, bias: true, activation: .geluTanh),
        Case(m: 3, n: 20, k: 9, activation: .relu),
        Case(m: 4, n: 6, k: 0, bias: true),
        Case(m: 4, n: 6, k: 0, accumulate: true),
        Case(m: 0, n: 5, k: 3),
        Case(m: 130, n: 144, k: 96, padC: 1, bias: true),
        Case(m: 16, n: 96, k: 768, accumulate: true, bias: true, residualScale: 10_000),
        Case(m: 9, n: 50, k: 2000, outIn: false, accumulate: true, residualScale: 10_000),
    ]

    static func reference(_ c: Case, a: [Float], lda: Int, w: [Float], bias: [Float], cIn: [Float], ldc: Int) -> [Float] {
        var out = cIn
        for i in 0..<c.m {
            for j in 0..<c.n {
                var acc = c.accumulate ? Double(cIn[i * ldc + j]) : 0
                if c.bias { acc += Double(bias[j]) }
                for p in 0..<c.k { acc += Double(a[i * lda + p]) * Double(c.outIn ? w[j * c.k + p] : w[p * c.n + j]) }
                var y = Float(acc)
                switch c.activation {
                case .geluErf?: y = Float(0.5 * acc * (1 + erf(acc / 2.0.squareRoot())))
                case .geluTanh?: y = Float(0.5 * acc * (1 + tanh((2 / Double.pi).squareRoot() * (acc + 0.044715 * acc * acc * acc))))
                case .relu?: y = max(y, 0)
                case nil: break
                }
                out[i * ldc + j] = y
            }
        }
        return out
    }

    @Test(arguments: cases)
    func packedGEMMMatchesReference(c: Case) throws {
        guard porter_packed_gemm_available() != 0 else { return }
        let lda = max(c.k, 1) + c.padA, ldc = max(c.n, 1) + c.padC
        let a = SpeedKernelTests.pattern(max(c.m * lda, 1), multiplier: 37, offset: 11, modulus: 23)
        let w = SpeedKernelTests.pattern(max(c.n * c.k, 1), multiplier: 29, offset: 5, modulus: 19)
        let bias = SpeedKernelTests.pattern(max(c.n, 1), multiplier: 7, offset: 3, modulus: 5)
        // Without accumulation C is never read: NaN there would leak into the result.
        let cIn = c.accumulate ? SpeedKernelTests.pattern(max(c.m * ldc, 1), multiplier: 13, offset: 0, modulus: 7).map { $0 * c.residualScale }
                               : [Float](repeating: .nan, count: max(c.m * ldc, 1))
        let want = Self.reference(c, a: a, lda: lda, w: w, bias: bias, cIn: cIn, ldc: ldc)
        var packedB = [Float](repeating: .nan, count: max(porter_packed_b_count(c.k, c.n), 1))
        var packedA = [Float](repeating: .nan, count: max(porter_packed_a_count(c.m, c.k), 1))
        let tiles = (c.m + Int(PORTER_PACK_MR) - 1) / Int(PORTER_PACK_MR)
        let panels = (c.n + Int(PORTER_PACK_NR) - 1) / Int(PORTER_PACK_NR)
        var got = cIn
        w.withUnsafeBufferPointer { pw in packedB.withUnsafeMutableBufferPointer { pb in
            porter_pack_b(pw.baseAddress!, c.k, c.n, c.outIn ? 1 : 0, pb.baseAddress!)
        } }
        a.withUnsafeBufferPointer { pa in packedA.withUnsafeMutableBufferPointer { dst in
            // In two tile ranges, as threads pack.
            porter_pack_a(pa.baseAddress!, c.m, c.k, lda, 0, tiles / 2, dst.baseAddress!)
            porter_pack_a(pa.baseAddress!, c.m, c.k, lda, tiles / 2, tiles, dst.baseAddress!)
        } }
        packedA.withUnsafeBufferPointer { pa in packedB.withUnsafeBufferPointer { pb in bias.withUnsafeBufferPointer { pbias in
        got.withUnsafeMutableBufferPointer { pc in
            // Two panel ranges, as two threads run them.
            for range in [0..<(panels / 2), (panels / 2)..<panels] {
                porter_packed_sgemm(c.m, c.n, c.k, pa.baseAddress!, pb.baseAddress!, range.lowerBound, range.upperBound,
                                    pc.baseAddress!, ldc, c.accumulate ? 1 : 0, c.bias ? pbias.baseAddress! : nil, c.activation?.function)
            }
        } } } }
        for i in 0..<c.m {
            for j in 0..<ldc {
                let (x, y) = (got[i * ldc + j], want[i * ldc + j])
                if j >= c.n {
                    #expect(x.bitPattern == cIn[i * ldc + j].bitPattern, "padding (\(i), \(j)) touched")
                } else {
                    // Products in [-1, 1): their sum's rounding grows with √k; C is added once
                    // per k-block (at most 3 here), each a rounding at the result's magnitude.
                    let limit: Float = c.residualScale > 1 ? 1e-5 * Float(c.k).squareRoot() + 4 * y.ulp
                                                            : 1e-5 * max(1, abs(y)) * Float(max(c.k, 1)).squareRoot()
                    #expect(abs(x - y) <= limit, "(\(i), \(j)): \(x) vs \(y)")
                }
            }
        }
    }

    /// An MLP with every fused form the packed path takes (`linear` alone, `linear+gelu`,
    /// `linear+relu`, `linear+add` residual) and a weight also read by another op (kept
    /// unpacked): packed and unpacked executors agree, and the packed one holds only the
    /// weights `linear` alone reads as packed. f32 weights are packed from their bytes, f16
    /// ones widened first.
    @Test(arguments: [DType.f32, .f16])
    func packedAndUnpackedExecutorsAgree(dtype: DType) throws {
        let (d, h) = (40, 100)
        let nodes = [
            GraphNode(name: "fc1", op: "linear", inputs: ["x", "w1", "b1"], outputs: ["a"], attributes: ["weight_layout": .string("out_in")]),
            GraphNode(name: "g", op: "gelu", inputs: ["a"], outputs: ["ga"], attributes: ["approximate": .string("none")]),
            GraphNode(name: "fc2", op: "linear", inputs: ["ga", "w2"], outputs: ["c"], attributes: ["weight_layout": .string("in_out")]),
            GraphNode(name: "res", op: "add", inputs: ["c", "x"], outputs: ["r"]),
            GraphNode(name: "fc3", op: "linear", inputs: ["r", "w3", "b3"], outputs: ["e"], attributes: ["weight_layout": .string("out_in")]),
            GraphNode(name: "act", op: "relu", inputs: ["e"], outputs: ["re"]),
            GraphNode(name: "fc4", op: "linear", inputs: ["re", "w4"], outputs: ["y0"], attributes: ["weight_layout": .string("out_in")]),
            GraphNode(name: "fc5", op: "linear", inputs: ["y0", "w1"], outputs: ["y1"], attributes: ["weight_layout": .string("out_in")]),
            GraphNode(name: "shared", op: "add", inputs: ["w4", "w4"], outputs: ["w4x2"]),
            // w1 is also a tied embedding: gathered by rows from its packed form.
            GraphNode(name: "embed", op: "gather", inputs: ["w1", "ids"], outputs: ["emb"], attributes: ["axis": .int(0)]),
        ]
        let graph = Graph(inputs: [GraphValue(name: "x", dtype: .f32, shape: [-1, -1, d]), GraphValue(name: "ids", dtype: .i64, shape: [-1, -1])],
                          outputs: [GraphValue(name: "y1", dtype: .f32, shape: [-1, -1, h]), GraphValue(name: "w4x2", dtype: .f32, shape: [d, h]),
                                    GraphValue(name: "emb", dtype: .f32, shape: [-1, -1, d])],
                          nodes: nodes, origin: "test")
        func w(_ name: String, _ shape: [Int], _ seed: Int) -> TensorEntry {
            ExecutorBehaviourTests.weight(name, SpeedKernelTests.pattern(shape.reduce(1, *), multiplier: 31 + seed, offset: seed, modulus: 41).map { $0 * 0.2 },
                                          shape, dtype: dtype)
        }
        let store = try TensorStore([w("w1", [h, d], 1), w("b1", [h], 2), w("w2", [h, d], 3), w("w3", [h, d], 4), w("b3", [h], 5), w("w4", [d, h], 6)])
        let x = HostTensor(shape: [3, 11, d], floats: SpeedKernelTests.pattern(3 * 11 * d, multiplier: 17, offset: 1, modulus: 29))
        let ids = HostTensor(shape: [2, 3], int64s: [0, 99, 48, 47, 5, 0])
        let plain = try GraphExecutor(graph: graph, weights: store, shared: [:], packing: false)
        let packed = try GraphExecutor(graph: graph, weights: store, shared: [:], packing: true)
        #expect(plain.packed.isEmpty)
        if porter_packed_gemm_available() != 0 {
            #expect(Set(packed.packed.keys) == ["w1", "w2", "w3"], "w4 is also read by add, so it stays a tensor")
            #expect(packed.weights["w4"] != nil && packed.weights["w1"] == nil)
        }
        for capture in [false, true] {
            let a = try plain.run(["x": x, "ids": ids], captureIntermediates: capture).outputs
            let b = try packed.run(["x": x, "ids": ids], captureIntermediates: capture).outputs
            #expect(a["emb"] == b["emb"], "gathered rows are the weight's own floats, exactly")
            for name in ["y1", "w4x2", "emb"] {
                let (p, q) = (try #require(a[name]?.floats), try #require(b[name]?.floats))
                #expect(a[name]?.shape == b[name]?.shape)
                let worst = zip(p, q).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? 0
                #expect(worst <= 1e-5, "\(name) capture \(capture): \(worst)")
            }
        }
        // An id past the table fails the same way on both.
        let bad = HostTensor(shape: [1, 1], int64s: [Int64(h)])
        #expect(throws: RuntimeError.indexOutOfRange(node: "embed", index: Int64(h), size: h)) { try plain.run(["x": x, "ids": bad]) }
        #expect(throws: RuntimeError.indexOutOfRange(node: "embed", index: Int64(h), size: h)) { try packed.run(["x": x, "ids": bad]) }
    }
}
