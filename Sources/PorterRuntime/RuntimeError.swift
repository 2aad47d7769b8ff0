import Foundation
import PorterCore
import PorterOps

/// Why the runtime could not build or run a graph. Each message names the node.
public enum RuntimeError: LocalizedError, Sendable, Equatable {
    /// A node uses an op the runtime does not implement.
    case unknownOp(node: String, op: String)
    /// A graph input was not supplied to `run`.
    case missingInput(name: String)
    /// A node reads a value that is neither a graph input, an earlier output, nor a weight.
    case missingValue(node: String, name: String)
    /// A graph output is produced by no node and is no input.
    case missingOutput(name: String)
    /// Shapes do not fit the op.
    case shapeMismatch(node: String, op: String, detail: String, shapes: [[Int]])
    /// An element type the runtime cannot compute with (or the wrong one for this input).
    case unsupportedDType(tensor: String, dtype: String)
    /// A required attribute is missing or malformed.
    case badAttribute(node: String, attribute: String, detail: String)
    /// A node has the wrong number of inputs.
    case wrongInputCount(node: String, op: String, expected: String, got: Int)
    /// An index (token id, gather index) lies outside the table.
    case indexOutOfRange(node: String, index: Int64, size: Int)
    /// A node does not fit its op's spec (inputs, attributes), found when the executor is built.
    case invalidNode(OpError)

    public var errorDescription: String? {
        switch self {
        case let .unknownOp(node, op):
            return "node \(node): op '\(op)' is not implemented by Porter's runtime (see docs/ops.md); the model can be verified at the weights level only"
        case let .missingInput(name):
            return "graph input '\(name)' was not supplied"
        case let .missingValue(node, name):
            return "node \(node) reads '\(name)', which is no graph input, earlier node output or weight"
        case let .missingOutput(name):
            return "graph output '\(name)' is produced by no node"
        case let .shapeMismatch(node, op, detail, shapes):
            let s = shapes.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" }.joined(separator: ", ")
            return "node \(node) (\(op)): \(detail); shapes \(s)"
        case let .unsupportedDType(tensor, dtype):
            return "tensor \(tensor): element type \(dtype) is not supported by the runtime here"
        case let .badAttribute(node, attribute, detail):
            return "node \(node): attribute '\(attribute)' \(detail)"
        case let .wrongInputCount(node, op, expected, got):
            return "node \(node) (\(op)) needs \(expected) inputs, has \(got)"
        case let .indexOutOfRange(node, index, size):
            return "node \(node): index \(index) is outside [0, \(size))"
        case let .invalidNode(error):
            return error.errorDescription
        }
    }
}
