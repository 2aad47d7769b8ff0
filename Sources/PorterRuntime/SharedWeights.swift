import PorterCore

/// Weights shared between executors. The verifier runs the source and the converted model
/// side by side; a weight its weights level proved bit-identical (same dtype, shape and
/// bytes) widens to the same floats on both sides, so the converted executor takes the
/// source executor's `HostTensor` (whose `[Float]` is shared copy-on-write, never written
/// by the kernels) instead of a second copy.
extension GraphExecutor {
    /// The loaded (widened) weight `name`, if this executor's graph reads it.
    public func loadedWeight(_ name: String) -> HostTensor? { weights[name] }

    /// Names of the weights this executor loaded.
    public var loadedWeightNames: [String] { Array(weights.keys) }

    /// `candidate` when it can stand for `tensor` (a float tensor of the same shape), else nil
    /// (the weight is then loaded from `tensor`).
    static func sharedWeight(_ candidate: HostTensor?, for tensor: TensorRef) -> HostTensor? {
        guard let candidate, tensor.dtype.isCastableFloat, candidate.shape == tensor.shape.dims,
              case let .float(values) = candidate.storage, values.count == tensor.elementCount else { return nil }
        return candidate
    }
}
