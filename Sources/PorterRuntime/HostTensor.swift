import CPorterKernels
import PorterCore

/// A dense, row-major tensor in memory, as the runtime computes with it: float32 for
/// activations and weights, int64 for token ids, masks and positions.
public struct HostTensor: Sendable, Equatable {
    /// The elements, row-major.
    public enum Storage: Sendable, Equatable {
        case float([Float])
        case int64([Int64])
    }

    public var shape: [Int]
    public var storage: Storage

    /// A tensor over `storage`; the element count must equal the product of `shape`.
    public init(shape: [Int], storage: Storage) {
        self.shape = shape
        self.storage = storage
    }

    /// A float32 tensor. `floats.count` must equal the product of `shape`.
    public init(shape: [Int], floats: [Float]) {
        self.init(shape: shape, storage: .float(floats))
    }

    /// An int64 tensor. `int64s.count` must equal the product of `shape`.
    public init(shape: [Int], int64s: [Int64]) {
        self.init(shape: shape, storage: .int64(int64s))
    }

    /// A float32 tensor filled with `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(shape: shape, storage: .float([Float](repeating: value, count: shape.reduce(1, *))))
    }

    /// A float32 scalar (shape `[]`).
    public init(scalar: Float) { self.init(shape: [], storage: .float([scalar])) }

    /// Loads a neutral tensor: float kinds (f16, bf16, f32, f64) widen to float32; integer
    /// kinds and bool become int64. Other kinds throw `RuntimeError.unsupportedDType`.
    public init(_ ref: TensorRef, name: String = "tensor") throws {
        let shape = ref.shape.dims
        switch ref.dtype {
        case .f16, .bf16, .f32, .f64:
            self.init(shape: shape, storage: .float(try HostTensor.widen(ref)))
        case .bool, .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64:
            let dtype = ref.dtype
            let values: [Int64] = try ref.withContiguousBytes { raw in
                let n = ref.elementCount
                return (0..<n).map { i -> Int64 in
                    switch dtype {
                    case .bool, .u8: return Int64(raw[i])
                    case .i8: return Int64(Int8(bitPattern: raw[i]))
                    case .i16: return Int64(raw.loadUnaligned(fromByteOffset: i * 2, as: Int16.self).littleEndian)
                    case .u16: return Int64(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian)
                    case .i32: return Int64(raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self).littleEndian)
                    case .u32: return Int64(raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian)
                    case .u64: return Int64(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self).littleEndian)
                    default: return raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self).littleEndian
                    }
                }
            }
            self.init(shape: shape, storage: .int64(values))
        default:
            throw RuntimeError.unsupportedDType(tensor: name, dtype: ref.dtype.rawValue)
        }
    }

    /// Float elements of `ref` as float32: a bulk copy for f32, one tight loop per dtype
    /// otherwise (split across cores for large tensors).
    static func widen(_ ref: TensorRef) throws -> [Float] {
        let count = ref.elementCount
        let dtype = ref.dtype
        return try ref.withContiguousBytes { raw -> [Float] in
            guard raw.count >= count * dtype.byteSize else { return try ref.floatValues() }
            var out: [Float] = uninitialized(count)
            out.withUnsafeMutableBufferPointer { o in
                nonisolated(unsafe) let o = o
                switch dtype {
                case .f32:
                    UnsafeMutableRawBufferPointer(o).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(count * 4)]))
                case .f16:
                    parallelChunks(count, minimumPerChunk: 1 << 16) { range in
                        porter_f16_to_f32(raw.baseAddress! + range.lowerBound * 2, o.baseAddress! + range.lowerBound, range.count)
                    }
                case .bf16:
                    parallelChunks(count, minimumPerChunk: 1 << 16) { range in
                        for k in range { o[k] = Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: k * 2, as: UInt16.self).littleEndian) << 16) }
                    }
                default:
                    for k in 0..<count { o[k] = Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: k * 8, as: UInt64.self).littleEndian)) }
                }
            }
            return out
        }
    }

    /// Number of elements (product of `shape`; 1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }

    /// `.f32` or `.i64`.
    public var dtype: DType {
        switch storage {
        case .float: return .f32
        case .int64: return .i64
        }
    }

    /// The float32 elements, or nil for an int64 tensor.
    public var floats: [Float]? { if case let .float(v) = storage { return v }; return nil }
    /// The int64 elements, or nil for a float32 tensor.
    public var int64s: [Int64]? { if case let .int64(v) = storage { return v }; return nil }

    /// The elements as Float whatever the storage (int64 converted).
    public var floatValues: [Float] {
        switch storage {
        case let .float(v): return v
        case let .int64(v): return v.map { Float($0) }
        }
    }

    /// The elements as Double whatever the storage (for metrics).
    public var doubleValues: [Double] {
        switch storage {
        case let .float(v): return v.map { Double($0) }
        case let .int64(v): return v.map { Double($0) }
        }
    }

    /// The tensor as a contiguous little-endian neutral tensor (`f32` or `i64`).
    public func tensorRef(label: String) -> TensorRef {
        switch storage {
        case let .float(v):
            let bytes = v.withUnsafeBytes { raw in [UInt8](raw) }
            return .memory(bytes, dtype: .f32, shape: Shape(shape), label: label)
        case let .int64(v):
            let bytes = v.withUnsafeBytes { raw in [UInt8](raw) }
            return .memory(bytes, dtype: .i64, shape: Shape(shape), label: label)
        }
    }
}
