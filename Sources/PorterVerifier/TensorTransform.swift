import Foundation
import PorterCore

/// One step of a tensor's provenance, parsed from the words the mapping engine and the
/// pipeline record (`Provenance.transforms`), so the weights check can replay it.
///
/// The accepted spellings (see `docs/verification.md`):
/// `keep`, `rename A → B`, `transpose [1, 0]`, `reshape [768, 12, 64]`, `cast f32→f16`,
/// `split axis 0 sizes [4, 4, 4] part 2/3 → NAME` (or `split axis 0 part 2/3` for equal parts),
/// `concat axis 0 of [a, b, c] → NAME`, `tie NAME = OTHER`, `unmapped: …`.
public enum TensorTransform: Sendable, Equatable {
    /// Same bytes under the same name.
    case keep
    /// Same bytes under a new name.
    case rename(from: String, to: String)
    case transpose([Int])
    case reshape([Int])
    case cast(from: DType, to: DType)
    /// `part` counts from 1, as the provenance words do. `sizes` nil means equal parts.
    case split(axis: Int, sizes: [Int]?, part: Int, of: Int)
    /// Joins the named source tensors (the first is the one carrying this provenance).
    case concat(axis: Int, sources: [String])
    /// An alias of another produced tensor: its bytes are that tensor's.
    case tie(name: String, to: String)
    /// Carried over under its source name because no rule matched.
    case unmapped

    /// Parses one provenance step; nil when Porter does not know how to replay it.
    public static func parse(_ text: String) -> TensorTransform? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "keep" { return .keep }
        if t.hasPrefix("unmapped") { return .unmapped }
        if t.hasPrefix("rename ") {
            let body = t.dropFirst("rename ".count)
            guard let arrow = body.range(of: " → ") else { return nil }
            return .rename(from: String(body[..<arrow.lowerBound]), to: String(body[arrow.upperBound...]))
        }
        if t.hasPrefix("transpose ") {
            return intList(t.dropFirst("transpose ".count)).map { .transpose($0) }
        }
        if t.hasPrefix("reshape ") {
            return intList(t.dropFirst("reshape ".count)).map { .reshape($0) }
        }
        if t.hasPrefix("cast ") {
            let pair = t.dropFirst("cast ".count).split(separator: "→", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let from = DType(rawValue: pair[0]), let to = DType(rawValue: pair[1]) else { return nil }
            return .cast(from: from, to: to)
        }
        if t.hasPrefix("split axis ") {
            // split axis A [sizes [..]] part i/n [→ NAME]
            var rest = Substring(t.dropFirst("split axis ".count))
            if let arrow = rest.range(of: " → ") { rest = rest[..<arrow.lowerBound] }
            guard let space = rest.firstIndex(of: " "), let axis = Int(rest[..<space]) else { return nil }
            rest = rest[rest.index(after: space)...]
            var sizes: [Int]?
            if rest.hasPrefix("sizes ") {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                sizes = intList(rest[rest.index(rest.startIndex, offsetBy: "sizes ".count)...close])
                guard sizes != nil else { return nil }
                rest = rest[rest.index(after: close)...].drop(while: { $0 == " " })
            }
            guard rest.hasPrefix("part ") else { return nil }
            let fraction = rest.dropFirst("part ".count).split(separator: "/")
            guard fraction.count == 2, let part = Int(fraction[0]), let of = Int(fraction[1]), part >= 1, part <= of else { return nil }
            if let sizes, sizes.count != of { return nil }
            return .split(axis: axis, sizes: sizes, part: part, of: of)
        }
        if t.hasPrefix("concat axis ") {
            var rest = Substring(t.dropFirst("concat axis ".count))
            guard let space = rest.firstIndex(of: " "), let axis = Int(rest[..<space]) else { return nil }
            rest = rest[rest.index(after: space)...]
            guard rest.hasPrefix("of ["), let close = rest.firstIndex(of: "]") else { return nil }
            let names = rest[rest.index(rest.startIndex, offsetBy: 4)..<close]
                .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !names.isEmpty else { return nil }
            return .concat(axis: axis, sources: names)
        }
        if t.hasPrefix("tie ") {
            let pair = t.dropFirst("tie ".count).components(separatedBy: " = ")
            guard pair.count == 2 else { return nil }
            return .tie(name: pair[0], to: pair[1])
        }
        return nil
    }

    /// `[1, 0]` → [1, 0].
    static func intList<S: StringProtocol>(_ text: S) -> [Int]? {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard s.hasPrefix("["), s.hasSuffix("]") else { return nil }
        let inner = s.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        if inner.isEmpty { return [] }
        var out: [Int] = []
        for part in inner.split(separator: ",") {
            guard let v = Int(part.trimmingCharacters(in: .whitespaces)) else { return nil }
            out.append(v)
        }
        return out
    }
}

/// Why a provenance could not be replayed.
public enum ReplayError: Error, Sendable, Equatable, LocalizedError {
    case unknownTransform(tensor: String, text: String)
    case missingSource(tensor: String, source: String)
    case transformFailed(tensor: String, step: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .unknownTransform(tensor, text):
            return "\(tensor): provenance step '\(text)' is not one Porter can replay"
        case let .missingSource(tensor, source):
            return "\(tensor): its source tensor \(source) is not in the source model"
        case let .transformFailed(tensor, step, reason):
            return "\(tensor): replaying '\(step)' failed: \(reason)"
        }
    }
}

/// Replays parsed transforms on source tensors with the same core operations the
/// mapping engine uses, giving the tensor the converted model should hold.
public enum TransformReplay {
    /// Applies `steps` to `start`. `lookup` resolves concat partners by source name.
    public static func apply(_ steps: [String], to start: TensorRef, tensor: String,
                             lookup: (String) -> TensorRef?) throws -> TensorRef {
        var current = start
        for step in steps {
            guard let parsed = TensorTransform.parse(step) else {
                throw ReplayError.unknownTransform(tensor: tensor, text: step)
            }
            do {
                switch parsed {
                case .keep, .rename, .tie, .unmapped:
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
                case let .split(axis, sizes, part, of):
                    let rank = current.shape.rank
                    let a = axis < 0 ? axis + rank : axis
                    guard a >= 0, a < rank else { throw TransformError.badAxis(tensor: tensor, axis: axis, rank: rank) }
                    let total = current.shape.dims[a]
                    let parts = sizes ?? Array(repeating: total / of, count: of)
                    current = try current.split(axis: a, sizes: parts, name: tensor)[part - 1]
                case let .concat(axis, sources):
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
