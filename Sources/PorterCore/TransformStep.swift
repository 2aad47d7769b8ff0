/// One thing done to a tensor on its way from the source file, as data: written by
/// whoever transforms (readers, the mapping engine, the pipeline's `--dtype` cast) and
/// replayed by the verifier's weights level. Stored in `model.json` as one object per
/// step, keyed by the step's kind (`{"transpose": {"perm": [1, 0]}}`); see
/// `docs/neutral-format.md`. `description` is for people only and is never parsed.
public enum TransformStep: Sendable, Codable, Hashable, CustomStringConvertible {
    /// Same bytes under the same name (a mapping rule with `keep`).
    case keep
    /// Same bytes under a new name.
    case rename(from: String, to: String)
    /// Axes permuted: output axis i is input axis `perm[i]`.
    case transpose(perm: [Int])
    /// Same elements in row-major order, new dims.
    case reshape(shape: [Int])
    /// Float conversion, rounded to nearest even.
    case cast(from: DType, to: DType)
    /// Part `index` (from 0) of `count` parts along `axis`; `sizes` nil means equal parts.
    /// `into` is the name the part got, when it was named.
    case split(axis: Int, sizes: [Int]?, index: Int, count: Int, into: String?)
    /// Joined along `axis` with other tensors; `sources` are names in the model the step
    /// was applied to, the first being the tensor that carries this provenance.
    case concat(axis: Int, sources: [String], into: String)
    /// `name` is an alias of `to`: its bytes are that tensor's.
    case tie(name: String, to: String)
    /// Carried over under its source name because no mapping rule matched it.
    case unmapped
    /// A reader's step: this name views the bytes of `of` in the file (safetensors aliases).
    case alias(of: String)
    /// A reader's step: the tensor is a constant of the source graph, not a variable.
    case graphConstant
    /// A writer-side step: the same values stored in a copy of their own, and why.
    case ownCopy(reason: String)
    /// f32 values stored as blocks of `to`, a `BlockQuantization` raw value (`q8_0`, from
    /// `--dtype q8_0` for GGUF): they read back as the quantizer's round trip
    /// (`TensorRef.quantizedRoundTrip`), which the verifier replays; a name it does not know
    /// fails the replay.
    case quantize(to: String)
    /// `value` added to every element in float32 (f16/bf16 widened first; the result is
    /// f32): llama.cpp's converter stores Gemma's RMSNorm weights as `1 + w`, since its norm
    /// multiplies by the stored weight (`mappings/hf-llama-to-gguf.json`, `"add": 1`; back: -1).
    case add(value: Double)

    /// True when the step changes neither values, dtype nor shape.
    public var keepsBytes: Bool {
        switch self {
        case .keep, .rename, .tie, .unmapped, .alias, .graphConstant, .ownCopy: return true
        case .transpose, .reshape, .cast, .split, .concat, .quantize, .add: return false
        }
    }

    public var description: String {
        switch self {
        case .keep: return "keep"
        case let .rename(from, to): return "rename \(from) → \(to)"
        case let .transpose(perm): return "transpose \(perm)"
        case let .reshape(shape): return "reshape \(shape)"
        case let .cast(from, to): return "cast \(from.rawValue)→\(to.rawValue)"
        case let .split(axis, sizes, index, count, into):
            return "split axis \(axis)\(sizes.map { " sizes \($0)" } ?? "") part \(index + 1)/\(count)\(into.map { " → \($0)" } ?? "")"
        case let .concat(axis, sources, into): return "concat axis \(axis) of [\(sources.joined(separator: ", "))] → \(into)"
        case let .tie(name, to): return "tie \(name) = \(to)"
        case .unmapped: return "unmapped: kept under its source name"
        case let .alias(of): return "alias of \(of)"
        case .graphConstant: return "graph constant"
        case let .ownCopy(reason): return "stored separately: \(reason)"
        case let .quantize(to): return "quantize f32→\(BlockQuantization(rawValue: to)?.ggmlName ?? to)"
        case let .add(value): return "add \(value) (f32)"
        }
    }
}
