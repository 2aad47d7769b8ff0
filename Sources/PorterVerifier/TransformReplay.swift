import Foundation
import PorterCore

/// Why a provenance could not be replayed.
public enum ReplayError: Error, Sendable, Equatable, LocalizedError {
    case missingSource(tensor: String, source: String)
    case transformFailed(tensor: String, step: TransformStep, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .missingSource(tensor, source):
            return "\(tensor): its source tensor \(source) is not in the source model"
        case let .transformFailed(tensor, step, reason):
            return "\(tensor): replaying '\(step)' failed: \(reason)"
        }
    }
}

/// Replays typed provenance steps (`TransformStep`) on source tensors with the same core
/// operations the mapping engine uses, giving the tensor the converted model should hold.
public enum TransformReplay {
    /// Applies `steps` to `start`. `lookup` resolves concat partners by source name.
    public static func apply(_ steps: [TransformStep], to start: TensorRef, tensor: String,
                             lookup: (String) -> TensorRef?) throws -> TensorRef {
        var current = start
        for step in steps {
            do {
                switch step {
                case .keep, .rename, .tie, .unmapped, .alias, .graphConstant, .ownCopy:
                    break
                case let .transpose(perm):
                    current = try current.transposed(perm, name: tensor)
                case let .reshape(dims):
                    current = try current.reshaped(dims, name: tensor)
                case let .cast(from, to):
                    guard current.dtype == from else {
                        throw ReplayError.transformFailed(tensor: tensor, step: step, reason: "the tensor is \(current.dtype.rawValue) at this step, not \(from.rawValue)")
                    }
                    current = try current.cast(to: to, name: tensor)
                case let .quantize(name):
                    guard let type = BlockQuantization(rawValue: name) else {
                        throw ReplayError.transformFailed(tensor: tensor, step: step, reason: "'\(name)' is not a block type Porter knows")
                    }
                    current = try current.quantizedRoundTrip(type, name: tensor)
                case let .add(value):
                    current = try current.adding(value, name: tensor)
                case let .split(axis, sizes, index, count, _):
                    let rank = current.shape.rank
                    let a = axis < 0 ? axis + rank : axis
                    guard a >= 0, a < rank else { throw TransformError.badAxis(tensor: tensor, axis: axis, rank: rank) }
                    guard count > 0, index >= 0, index < count, sizes.map({ $0.count == count }) ?? true else {
                        throw ReplayError.transformFailed(tensor: tensor, step: step, reason: "part \(index + 1) of \(count) is not a part of this split")
                    }
                    let total = current.shape.dims[a]
                    let parts = sizes ?? Array(repeating: total / count, count: count)
                    current = try current.split(axis: a, sizes: parts, name: tensor)[index]
                case let .concat(axis, sources, _):
                    var pieces: [TensorRef] = []
                    for (i, name) in sources.enumerated() {
                        if i == 0 { pieces.append(current); continue }
                        guard let t = lookup(name) else { throw ReplayError.missingSource(tensor: tensor, source: name) }
                        pieces.append(t)
                    }
                    let rank = current.shape.rank
                    current = try TensorRef.concatenated(pieces, axis: axis < 0 ? axis + rank : axis, name: tensor)
                }
            } catch let error as ReplayError {
                throw error
            } catch {
                throw ReplayError.transformFailed(tensor: tensor, step: step, reason: error.localizedDescription)
            }
        }
        return current
    }
}
