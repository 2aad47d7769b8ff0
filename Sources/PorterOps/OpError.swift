import Foundation

/// Why a node (or a graph) does not fit the op set. Every message names the node and
/// its op, and the attribute or input at fault.
public enum OpError: LocalizedError, Sendable, Equatable {
    /// The op is not in the op set (`docs/ops.md`).
    case unknownOp(node: String, op: String)
    /// An attribute the op does not declare (a misspelling, usually).
    case unknownAttribute(node: String, op: String, attribute: String, known: [String])
    /// An attribute of the wrong JSON type, or a string outside the allowed values.
    case wrongAttributeType(node: String, op: String, attribute: String, expected: String, found: String)
    /// A required attribute is missing.
    case missingAttribute(node: String, op: String, attribute: String)
    /// An attribute value the op cannot use (out-of-range axis, bad permutation, …).
    case badAttribute(node: String, op: String, attribute: String, detail: String)
    /// Too few or too many inputs.
    case wrongInputCount(node: String, op: String, expected: String, got: Int)
    /// A required input is given as `""`.
    case missingInput(node: String, op: String, input: String)
    /// A node reads a value that is no graph input, earlier node output or weight.
    case missingValue(node: String, op: String, name: String)
    /// The node names more outputs than the op makes.
    case wrongOutputCount(node: String, op: String, expected: Int, got: Int)
    /// An input of an element type the op cannot take.
    case wrongInputType(node: String, op: String, input: String, detail: String)
    /// Shapes that certainly do not fit the op (both dims known and different, …).
    case shapeMismatch(node: String, op: String, detail: String, inputs: [String])
    /// A graph output no node produces.
    case missingOutput(name: String)
    /// Code read an attribute its op's spec does not declare (a bug in Porter, not in the input).
    case undeclaredAttribute(op: String, attribute: String)

    public var errorDescription: String? {
        switch self {
        case let .unknownOp(node, op):
            return "node \(node): op '\(op)' is not in Porter's op set (docs/ops.md)"
        case let .unknownAttribute(node, op, attribute, known):
            let list = known.isEmpty ? "none" : known.joined(separator: ", ")
            return "node \(node) (\(op)): unknown attribute '\(attribute)' (\(op) takes: \(list))"
        case let .wrongAttributeType(node, op, attribute, expected, found):
            return "node \(node) (\(op)): attribute '\(attribute)' is \(found); expected \(expected)"
        case let .missingAttribute(node, op, attribute):
            return "node \(node) (\(op)): required attribute '\(attribute)' is missing"
        case let .badAttribute(node, op, attribute, detail):
            return "node \(node) (\(op)): attribute '\(attribute)' \(detail)"
        case let .wrongInputCount(node, op, expected, got):
            return "node \(node) (\(op)) needs \(expected) inputs, has \(got)"
        case let .missingInput(node, op, input):
            return "node \(node) (\(op)): required input '\(input)' is empty"
        case let .missingValue(node, op, name):
            return "node \(node) (\(op)) reads '\(name)', which is no graph input, earlier node output or weight"
        case let .wrongOutputCount(node, op, expected, got):
            return "node \(node) (\(op)) names \(got) outputs, the op makes \(expected)"
        case let .wrongInputType(node, op, input, detail):
            return "node \(node) (\(op)): input '\(input)' \(detail)"
        case let .shapeMismatch(node, op, detail, inputs):
            return "node \(node) (\(op)): \(detail); input types \(inputs.joined(separator: ", "))"
        case let .missingOutput(name):
            return "graph output '\(name)' is produced by no node and is no input or weight"
        case let .undeclaredAttribute(op, attribute):
            return "internal error: code reads attribute '\(attribute)', which op \(op)'s spec does not declare"
        }
    }
}
