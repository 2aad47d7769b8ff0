import Foundation

/// Why a model cannot be written as ONNX. Raised by the writer's check, before anything
/// is staged.
public enum ONNXWriteError: Error, Sendable, Equatable {
    /// No stored graph and no architecture descriptor builds one.
    case noGraph(reason: String)
    /// The graph uses ops (or op forms) the writer cannot express in ONNX.
    case unsupportedOps(ops: [String])
    /// A weight's dtype the written graph cannot compute with.
    case unsupportedDType(tensor: String, dtype: String)
    /// `--write-option opset=` outside what the writer emits.
    case badOpset(value: String)
    /// The neutral graph failed the op specs.
    case invalidGraph(reason: String)
    /// The weights do not fit one protobuf message and `external-data=never` was asked for.
    case tooLarge(bytes: Int)
}

extension ONNXWriteError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .noGraph(reason):
            return "cannot write ONNX: the model has no graph (\(reason)); ONNX needs one. Read a model with a stored graph, or a Hugging Face folder of a family Porter knows"
        case let .unsupportedOps(ops):
            return "cannot write ONNX: the graph uses \(ops.joined(separator: ", ")), which the ONNX writer does not express"
        case let .unsupportedDType(tensor, dtype):
            return "cannot write ONNX: weight '\(tensor)' is \(dtype); the ONNX writer writes f32 and i64 weights (convert with --dtype f32)"
        case let .badOpset(value):
            return "--write-option opset=\(value): the ONNX writer emits opsets 17 to 21"
        case let .tooLarge(bytes):
            return "cannot write ONNX: \(bytes) bytes of weights do not fit protobuf's 2 GiB message limit; drop --write-option external-data=never (the weights then go to model.onnx.data)"
        case let .invalidGraph(reason):
            return "cannot write ONNX: the graph fails the op specs: \(reason)"
        }
    }
}
