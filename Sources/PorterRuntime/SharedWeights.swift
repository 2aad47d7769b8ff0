import PorterCore

/// A weight as an executor holds it: widened to float32 (or int64), or packed for the GEMM.
public enum LoadedWeight: Sendable {
    case tensor(HostTensor)
    case packed(PackedMatrix)

    /// The address of the weight's storage (tests check that two executors share one copy).
    public var storageAddress: UnsafeRawPointer? {
        switch self {
        case let .tensor(t):
            switch t.storage {
            case let .float(v): return v.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
            case let .int64(v): return v.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
            }
        case let .packed(p): return UnsafeRawPointer(p.storage)
        }
    }
}

/// Weights shared between executors. The verifier runs the source and the converted model
/// side by side; a weight its weights level proved bit-identical (same dtype, shape and
/// bytes) widens (or packs) to the same floats on both sides, so the converted executor takes
/// the source executor's copy (a `HostTensor`'s `[Float]` is shared copy-on-write and never
/// written by the kernels; a `PackedMatrix` is immutable) instead of a second one.
extension GraphExecutor {
    /// The loaded weight `name`, if this executor's graph reads it.
    public func loadedWeight(_ name: String) -> LoadedWeight? {
        if let p = packed[name] { return .packed(p) }
        return weights[name].map { .tensor($0) }
    }

    /// Names of the weights this executor loaded.
    public var loadedWeightNames: [String] { Array(weights.keys) + Array(packed.keys) }

    /// `candidate` when it can stand for `tensor` (a float tensor of the same shape), else nil
    /// (the weight is then loaded from `tensor`).
    static func sharedWeight(_ candidate: LoadedWeight?, for tensor: TensorRef) -> HostTensor? {
        guard case let .tensor(candidate)? = candidate, tensor.dtype.isCastableFloat, candidate.shape == tensor.shape.dims,
              case let .float(values) = candidate.storage, values.count == tensor.elementCount else { return nil }
        return candidate
    }

    /// `candidate` when it is `tensor` packed in layout `outIn`, else nil.
    static func sharedPacked(_ candidate: LoadedWeight?, for tensor: TensorRef, outIn: Bool) -> PackedMatrix? {
        guard case let .packed(p)? = candidate, tensor.dtype.isCastableFloat, p.shape == tensor.shape.dims, p.outIn == outIn else { return nil }
        return p
    }
}
