import Foundation
import CPorterKernels
import CPorterRuntime
import PorterCore
import PorterOps

/// A `linear` weight packed once, at load, for the runtime's AVX-512 GEMM
/// (`porter_packed_gemm.c`): B = Wᵀ (`out_in`) or W (`in_out`) in panels of 48 columns. It
/// replaces the weight's float32 copy: a weight only `linear` nodes read is held packed only.
public final class PackedMatrix: @unchecked Sendable {
    /// B is `k × n`: `k` input features, `n` output features.
    let k: Int, n: Int
    /// The weight's shape and layout as the graph names them.
    let shape: [Int]
    let outIn: Bool
    let count: Int
    let storage: UnsafeMutablePointer<Float>

    /// Packs a 2-D float weight.
    convenience init(_ weight: HostTensor, outIn: Bool) throws {
        guard weight.rank == 2, let values = weight.floats, values.count == weight.shape[0] * weight.shape[1] else {
            throw RuntimeError.unsupportedDType(tensor: "linear weight", dtype: weight.dtype.rawValue)
        }
        self.init(shape: weight.shape, outIn: outIn)
        values.withUnsafeBufferPointer { w in if let base = w.baseAddress { pack(from: base) } }
    }

    /// Packs the 2-D float weight `ref`: a little-endian, 4-byte-aligned f32 tensor straight from
    /// its bytes (a mapped file's pages, no float32 copy in between), other float kinds widened
    /// first.
    convenience init(_ ref: TensorRef, name: String, outIn: Bool) throws {
        let shape = ref.shape.dims
        guard shape.count == 2 else { throw RuntimeError.unsupportedDType(tensor: name, dtype: ref.dtype.rawValue) }
        let bytes = shape[0] * shape[1] * 4
        var direct = false
        if ref.dtype == .f32 {
            direct = try ref.withContiguousBytes { (raw: UnsafeRawBufferPointer) -> Bool in
                guard let base = raw.baseAddress else { return false }
                return Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 && raw.count >= bytes
            }
        }
        if direct {
            self.init(shape: shape, outIn: outIn)
            try ref.withContiguousBytes { raw in pack(from: raw.baseAddress!.assumingMemoryBound(to: Float.self)) }
            return
        }
        try self.init(HostTensor(ref, name: name), outIn: outIn)
    }

    private init(shape: [Int], outIn: Bool) {
        self.shape = shape
        self.outIn = outIn
        (n, k) = outIn ? (shape[0], shape[1]) : (shape[1], shape[0])
        count = porter_packed_b_count(k, n)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.size, alignment: 64)
        storage = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    private func pack(from weight: UnsafePointer<Float>) {
        porter_pack_b(weight, k, n, outIn ? 1 : 0, storage)
    }

    deinit { storage.deallocate() }

    /// Bytes the packed copy holds.
    var byteCount: Int { count * MemoryLayout<Float>.size }

    /// Whether the runtime packs `linear` weights: this CPU has AVX-512F and
    /// `PORTER_PACKED_GEMM` is not `0` (`0` keeps the weights as float32 arrays for oneDNN /
    /// OpenBLAS, for before/after measurements and tests of both paths).
    static let enabled: Bool = porter_packed_gemm_available() != 0
        && ProcessInfo.processInfo.environment["PORTER_PACKED_GEMM"] != "0"
}

/// The activation a fused `linear` applies (`linear` → `gelu`/`relu`): per finished tile in
/// the packed GEMM, over the whole product otherwise.
enum PackedActivation {
    case geluErf, geluTanh, relu

    /// The activation node `node` computes, or nil when it is not one the fusion knows.
    init?(_ node: GraphNode, attributes: OpAttributes) throws {
        switch node.op {
        case "relu": self = .relu
        case "gelu":
            switch try attributes.string("approximate") {
            case "none": self = .geluErf
            case "tanh": self = .geluTanh
            default: return nil
            }
        default: return nil
        }
    }

    var function: (@convention(c) (UnsafeMutablePointer<Float>?, Int) -> Void) {
        switch self {
        case .geluErf: return porter_gelu_erf
        case .geluTanh: return porter_gelu_tanh
        case .relu: return porter_relu
        }
    }
}

/// y = x·W (+ bias) (+ residual), then `activation`, with W packed; x's last axis is the
/// input features; `residual`, when given, is a float tensor of the product's shape. Row tiles
/// of x are packed per call; B's panels are split across threads.
func packedLinear(x: [Float], xShape: [Int], weight w: PackedMatrix, bias: [Float]?, residual: HostTensor?,
                  activation: PackedActivation?, ctx: NodeContext) throws -> HostTensor {
    guard let inFeatures = xShape.last, inFeatures == w.k else {
        throw ctx.shapeError("weight expects \(w.k) input features, x has \(xShape.last ?? 0)", [xShape, w.shape])
    }
    if let bias, bias.count != w.n { throw ctx.shapeError("bias has \(bias.count) elements, expected \(w.n)", [xShape, w.shape, [bias.count]]) }
    let outShape = Array(xShape.dropLast()) + [w.n]
    // The caller (`linearNode`) passes only a float residual of the product's shape.
    precondition(residual == nil || (residual!.shape == outShape && residual!.floats != nil))
    let rows = xShape.dropLast().reduce(1, *)
    let (k, n) = (w.k, w.n)
    var out: [Float] = residual?.floats ?? uninitialized(rows * n)
    if rows == 0 || n == 0 { return HostTensor(shape: outShape, floats: out) }
    let tiles = (rows + Int(PORTER_PACK_MR) - 1) / Int(PORTER_PACK_MR)
    var packedA: [Float] = uninitialized(porter_packed_a_count(rows, k))
    x.withUnsafeBufferPointer { px in packedA.withUnsafeMutableBufferPointer { pa in
        nonisolated(unsafe) let (px, pa) = (px.baseAddress!, pa.baseAddress!)
        // Packing is a copy of x, split from 32 K floats per thread on.
        parallelChunks(tiles, minimumPerChunk: max(1, (1 << 15) / max(1, k * Int(PORTER_PACK_MR)))) { range in
            porter_pack_a(px, rows, k, k, range.lowerBound, range.upperBound, pa)
        }
    } }
    let panels = (n + Int(PORTER_PACK_NR) - 1) / Int(PORTER_PACK_NR)
    let accumulate: Int32 = residual == nil ? 0 : 1
    let act = activation?.function
    packedA.withUnsafeBufferPointer { pa in out.withUnsafeMutableBufferPointer { po in (bias ?? []).withUnsafeBufferPointer { pb in
        nonisolated(unsafe) let (pa, po, pb) = (pa.baseAddress!, po.baseAddress!, bias == nil ? nil : pb.baseAddress)
        nonisolated(unsafe) let storage = w.storage
        // At least ~2 MFLOP per chunk, so small products stay on one thread.
        let perPanel = max(1, rows * k * Int(PORTER_PACK_NR) * 2)
        parallelChunks(panels, minimumPerChunk: max(1, (1 << 21) / perPanel)) { range in
            porter_packed_sgemm(rows, n, k, pa, storage, range.lowerBound, range.upperBound, po, n, accumulate, pb, act)
        }
    } } }
    return HostTensor(shape: outShape, floats: out)
}

/// `gather` on axis 0 of an `out_in` weight held packed (a tied embedding: the LM head's
/// weight): row t of the weight is column t of the packed matrix.
func packedGather(_ table: PackedMatrix, ctx: NodeContext) throws -> HostTensor {
    let (ishape, indices) = try ctx.ints(1)
    guard table.outIn else { throw ctx.shapeError("a packed in_out weight cannot be gathered by rows", [table.shape]) }
    for i in indices where i < 0 || i >= Int64(table.n) {
        throw RuntimeError.indexOutOfRange(node: ctx.name, index: i, size: table.n)
    }
    let width = table.k
    var out: [Float] = uninitialized(indices.count * width)
    out.withUnsafeMutableBufferPointer { o in
        for (r, i) in indices.enumerated() { porter_packed_b_column(table.storage, table.k, table.n, Int(i), o.baseAddress! + r * width) }
    }
    return HostTensor(shape: ishape + [width], floats: out)
}
