import Foundation

public enum ByteOrder: String, Sendable, Codable {
    case little, big
}

/// A lazy, typed view over a storage: dtype, shape, element offset and element
/// strides (PyTorch's model). Nothing is read until a writer or the verifier asks.
public struct TensorRef: Sendable {
    public var dtype: DType
    public var shape: Shape
    public var storage: TensorStorage
    /// Offset of the first element, in elements of `dtype`.
    public var offset: Int
    /// Strides in elements; nil means row-major contiguous.
    public var strides: [Int]?
    /// Byte order of the elements in storage; materialised bytes are always little-endian.
    public var byteOrder: ByteOrder

    public init(dtype: DType, shape: Shape, storage: TensorStorage, offset: Int = 0, strides: [Int]? = nil, byteOrder: ByteOrder = .little) {
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
        self.offset = offset
        self.strides = strides
        self.byteOrder = byteOrder
    }

    /// A contiguous little-endian tensor over in-memory bytes.
    public static func memory(_ bytes: [UInt8], dtype: DType, shape: Shape, label: String) -> TensorRef {
        TensorRef(dtype: dtype, shape: shape, storage: .memory(bytes, label: label))
    }

    public var elementCount: Int { shape.elementCount ?? 0 }
    /// Bytes of the materialised (contiguous) tensor.
    public var byteCount: Int { elementCount * dtype.byteSize }

    /// True when the tensor's elements are one contiguous row-major run of its storage.
    public var isContiguous: Bool {
        guard let strides else { return true }
        let expected = shape.contiguousStrides
        for (i, d) in shape.dims.enumerated() where d > 1 && strides[i] != expected[i] { return false }
        return true
    }

    /// True when the bytes can be handed out as they sit in storage.
    public var isDirectlyReadable: Bool { isContiguous && (byteOrder == .little || dtype.byteSize == 1) }

    /// Byte range of storage that a contiguous view covers.
    public var contiguousByteRange: Range<Int> {
        let start = offset * dtype.byteSize
        return start..<(start + byteCount)
    }

    /// Checks that every element the view touches lies inside its storage.
    public func validate(name: String) throws {
        guard let count = shape.elementCount else {
            throw CoreError.sizeOverflow(source: name, what: "shape \(shape)")
        }
        guard offset >= 0 else { throw CoreError.viewOutOfBounds(tensor: name, needed: -1, storageBytes: storage.byteCount) }
        if let strides {
            guard strides.count == shape.rank, strides.allSatisfy({ $0 >= 0 }) else {
                throw CoreError.storageFailed(source: name, reason: "strides \(strides) do not fit shape \(shape)")
            }
        }
        if count == 0 { return }
        var maxIndex = offset
        let s = strides ?? shape.contiguousStrides
        for (i, d) in shape.dims.enumerated() {
            let (p, o1) = (d - 1).multipliedReportingOverflow(by: s[i])
            let (sum, o2) = maxIndex.addingReportingOverflow(p)
            guard !o1, !o2 else { throw CoreError.sizeOverflow(source: name, what: "strided extent") }
            maxIndex = sum
        }
        let (needed, o3) = (maxIndex + 1).multipliedReportingOverflow(by: dtype.byteSize)
        guard !o3 else { throw CoreError.sizeOverflow(source: name, what: "strided extent") }
        guard needed <= storage.byteCount else {
            throw CoreError.viewOutOfBounds(tensor: name, needed: needed, storageBytes: storage.byteCount)
        }
    }

    /// Calls `body` with the tensor as contiguous little-endian bytes: zero-copy when the
    /// storage already holds it that way, otherwise materialised by strides and byte order.
    public func withContiguousBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if isDirectlyReadable {
            return try storage.withBytes(contiguousByteRange, body)
        }
        let bytes = try contiguousBytes()
        return try bytes.withUnsafeBytes(body)
    }

    /// The tensor as a new contiguous little-endian byte array.
    public func contiguousBytes() throws -> [UInt8] {
        let size = dtype.byteSize
        let count = elementCount
        if isDirectlyReadable {
            return try storage.withBytes(contiguousByteRange) { Array($0) }
        }
        var out = [UInt8](repeating: 0, count: count * size)
        if count == 0 { return out }
        let s = strides ?? shape.contiguousStrides
        let dims = shape.dims
        // Read the smallest storage span that covers the view, then gather.
        var maxIndex = offset
        for (i, d) in dims.enumerated() { maxIndex += (d - 1) * s[i] }
        let span = (offset * size)..<((maxIndex + 1) * size)
        let swap = byteOrder == .big && size > 1
        try storage.withBytes(span) { src in
            out.withUnsafeMutableBytes { dst in
                var index = [Int](repeating: 0, count: dims.count)
                var srcElement = 0  // relative to offset
                for e in 0..<count {
                    let from = srcElement * size
                    let to = e * size
                    if swap {
                        for b in 0..<size { dst[to + b] = src[from + size - 1 - b] }
                    } else {
                        for b in 0..<size { dst[to + b] = src[from + b] }
                    }
                    // Advance the multi-index (row-major).
                    var axis = dims.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        srcElement += s[axis]
                        if index[axis] < dims[axis] { break }
                        srcElement -= s[axis] * dims[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return out
    }

    /// The elements widened to Float (float dtypes only).
    public func floatValues() throws -> [Float] {
        try withContiguousBytes { try FloatConversion.toFloat32($0, dtype: dtype) }
    }

    /// True when both views read the same elements of the same storage object.
    public func isSameView(as other: TensorRef) -> Bool {
        storage === other.storage && dtype == other.dtype && shape == other.shape && offset == other.offset
            && (strides ?? shape.contiguousStrides) == (other.strides ?? other.shape.contiguousStrides)
            && byteOrder == other.byteOrder
    }
}
