import Foundation

/// Failures of shape-level tensor transforms (mapping rules, casts).
public enum TransformError: Error, Sendable, Equatable {
    case badPermutation(tensor: String, perm: [Int], rank: Int)
    case reshapeCount(tensor: String, from: Shape, to: [Int])
    case splitUneven(tensor: String, axis: Int, size: Int, sizes: [Int])
    case badAxis(tensor: String, axis: Int, rank: Int)
    case concatMismatch(tensor: String, axis: Int, shapes: [Shape], dtypes: [DType])
    case notCastable(tensor: String, from: DType, to: DType)
}

extension TransformError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .badPermutation(t, perm, rank):
            return "\(t): transpose \(perm) is not a permutation of its \(rank) axes"
        case let .reshapeCount(t, from, to):
            return "\(t): cannot reshape \(from) to \(to): element counts differ"
        case let .splitUneven(t, axis, size, sizes):
            return "\(t): axis \(axis) of size \(size) cannot be split into \(sizes)"
        case let .badAxis(t, axis, rank):
            return "\(t): axis \(axis) is out of range for rank \(rank)"
        case let .concatMismatch(t, axis, shapes, dtypes):
            return "\(t): cannot concatenate along axis \(axis) shapes \(shapes.map(\.description)) of dtypes \(dtypes.map(\.rawValue))"
        case let .notCastable(t, from, to):
            return "\(t): cannot cast \(from.rawValue) to \(to.rawValue); only f16, bf16, f32 and f64 convert"
        }
    }
}

/// Counts values that overflowed to infinity during casts, per tensor name. Casts are
/// lazy, so the counts fill in as tensors are written.
public final class OverflowTally: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    public init() {}

    public func record(_ name: String, _ count: Int) {
        lock.lock(); defer { lock.unlock() }
        counts[name] = count
    }

    /// Tensor name → values that became infinite (only tensors with any).
    public var overflows: [String: Int] {
        lock.lock(); defer { lock.unlock() }
        return counts.filter { $0.value > 0 }
    }
}

extension TensorRef {
    /// Permutes axes as a strided view: no bytes move.
    public func transposed(_ perm: [Int], name: String) throws -> TensorRef {
        guard perm.count == shape.rank, Set(perm) == Set(0..<shape.rank) else {
            throw TransformError.badPermutation(tensor: name, perm: perm, rank: shape.rank)
        }
        let s = strides ?? shape.contiguousStrides
        var out = self
        out.shape = Shape(perm.map { shape.dims[$0] })
        out.strides = perm.map { s[$0] }
        return out
    }

    /// Row-major reshape; a view when contiguous, else a lazily materialised copy.
    public func reshaped(_ dims: [Int], name: String) throws -> TensorRef {
        let target = Shape(dims)
        guard let n = target.elementCount, n == elementCount else {
            throw TransformError.reshapeCount(tensor: name, from: shape, to: dims)
        }
        var base = isContiguous ? self : materializedLazily(label: "\(name) (reshape)")
        base.shape = target
        base.strides = nil
        return base
    }

    /// Slices `[start, start+length)` along `axis` as a strided view.
    public func sliced(axis: Int, start: Int, length: Int, name: String) throws -> TensorRef {
        guard axis >= 0, axis < shape.rank else { throw TransformError.badAxis(tensor: name, axis: axis, rank: shape.rank) }
        let s = strides ?? shape.contiguousStrides
        var out = self
        out.offset = offset + start * s[axis]
        out.shape.dims[axis] = length
        out.strides = s
        return out
    }

    /// Splits along `axis` into parts of the given sizes (views, no copies).
    public func split(axis: Int, sizes: [Int], name: String) throws -> [TensorRef] {
        guard axis >= 0, axis < shape.rank else { throw TransformError.badAxis(tensor: name, axis: axis, rank: shape.rank) }
        guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == shape.dims[axis] else {
            throw TransformError.splitUneven(tensor: name, axis: axis, size: shape.dims[axis], sizes: sizes)
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try sliced(axis: axis, start: start, length: size, name: name)
        }
    }

    /// A contiguous little-endian copy made when first read.
    public func materializedLazily(label: String) -> TensorRef {
        let source = self
        let storage = TensorStorage(byteCount: byteCount, backing: .deferred { try source.contiguousBytes() }, label: label)
        return TensorRef(dtype: dtype, shape: shape, storage: storage)
    }

    /// Casts a float tensor to another float dtype, lazily; overflows go to `tally`.
    /// Writers stream the cast in bounded chunks (`StreamedCast`); readers of the whole
    /// bytes (the verifier) get them from `FloatConversion.cast`, the same bits.
    public func cast(to target: DType, name: String, tally: OverflowTally? = nil) throws -> TensorRef {
        if target == dtype { return self }
        guard dtype.isCastableFloat, target.isCastableFloat else {
            throw TransformError.notCastable(tensor: name, from: dtype, to: target)
        }
        let source = self
        let storage = TensorStorage(byteCount: elementCount * target.byteSize, backing: .deferred {
            let result = try source.withContiguousBytes { try FloatConversion.cast($0, from: source.dtype, to: target) }
            tally?.record(name, result.overflowCount)
            return result.bytes
        }, label: "\(name) (cast \(dtype.rawValue)→\(target.rawValue))",
           chunked: StreamedCast(source: source, target: target, name: name, tally: tally))
        return TensorRef(dtype: target, shape: shape, storage: storage)
    }

    /// Adds `value` to every element, lazily, in float32: f16 and bf16 are widened exactly
    /// first, the sum is rounded once to f32 (`TransformStep.add`). Other dtypes are refused.
    public func adding(_ value: Double, name: String) throws -> TensorRef {
        guard [.f32, .f16, .bf16].contains(dtype) else {
            throw TransformError.notCastable(tensor: name, from: dtype, to: .f32)
        }
        let source = self
        let addend = Float(value)
        let count = elementCount
        let storage = TensorStorage(byteCount: count * 4, backing: .deferred {
            let floats = try source.floatValues()
            var out = [UInt8](repeating: 0, count: count * 4)
            out.withUnsafeMutableBytes { dst in
                for i in 0..<count { dst.storeBytes(of: (floats[i] + addend).bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            }
            return out
        }, label: "\(name) (add \(value))")
        return TensorRef(dtype: .f32, shape: shape, storage: storage)
    }

    /// Concatenates tensors of one dtype along `axis`, lazily.
    public static func concatenated(_ parts: [TensorRef], axis: Int, name: String) throws -> TensorRef {
        guard let first = parts.first else { throw TransformError.concatMismatch(tensor: name, axis: axis, shapes: [], dtypes: []) }
        let rank = first.shape.rank
        guard axis >= 0, axis < rank else { throw TransformError.badAxis(tensor: name, axis: axis, rank: rank) }
        for p in parts {
            var a = p.shape.dims, b = first.shape.dims
            guard p.dtype == first.dtype, a.count == rank else {
                throw TransformError.concatMismatch(tensor: name, axis: axis, shapes: parts.map(\.shape), dtypes: parts.map(\.dtype))
            }
            a[axis] = 0; b[axis] = 0
            guard a == b else {
                throw TransformError.concatMismatch(tensor: name, axis: axis, shapes: parts.map(\.shape), dtypes: parts.map(\.dtype))
            }
        }
        var dims = first.shape.dims
        dims[axis] = parts.reduce(0) { $0 + $1.shape.dims[axis] }
        let outShape = Shape(dims)
        let itemSize = first.dtype.byteSize
        // Bytes per "row" before the axis: outer = product of dims before axis.
        let outer = dims[..<axis].reduce(1, *)
        let count = (outShape.elementCount ?? 0) * itemSize
        let storage = TensorStorage(byteCount: count, backing: .deferred {
            let chunks = try parts.map { try $0.contiguousBytes() }
            let inner = parts.map { $0.byteCount / max(outer, 1) }
            var out = [UInt8]()
            out.reserveCapacity(count)
            for o in 0..<outer {
                for (i, c) in chunks.enumerated() { out.append(contentsOf: c[(o * inner[i])..<((o + 1) * inner[i])]) }
            }
            return out
        }, label: "\(name) (concat)")
        return TensorRef(dtype: first.dtype, shape: outShape, storage: storage)
    }
}
