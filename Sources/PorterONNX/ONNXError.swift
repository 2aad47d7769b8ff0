import Foundation

/// Everything that can be wrong with an `.onnx` file or its external data. Every message
/// names the file and where in it: the byte offset of the protobuf field, and the
/// initializer or node concerned.
public enum ONNXError: Error, Sendable, Equatable {
    /// The file is larger than protobuf's 2 GiB message limit (weights that large belong
    /// in external data files).
    case fileTooLarge(file: String, size: Int, limit: Int)
    /// A varint runs past 10 bytes or past the end of its message.
    case badVarint(file: String, offset: Int, message: String)
    /// A field's length or fixed-width value runs past the end of its enclosing message.
    case fieldOutOfBounds(file: String, offset: Int, message: String, field: Int, length: UInt64, available: Int)
    /// A wire type protobuf does not define, or one that does not fit the field
    /// (groups, a length-delimited field given as a varint, ...).
    case badWireType(file: String, offset: Int, message: String, field: Int, wireType: Int)
    /// Messages nested deeper than Porter follows (subgraphs inside subgraphs).
    case nestingTooDeep(file: String, offset: Int, depth: Int, limit: Int)
    /// The ModelProto has no graph.
    case noGraph(file: String)
    /// An initializer's dims are negative, or their product (or its byte size) overflows.
    case badDims(file: String, tensor: String, offset: Int, reason: String)
    /// An initializer's data does not hold as many elements as its dims say.
    case dataSizeMismatch(file: String, tensor: String, offset: Int, field: String, expected: Int, found: Int)
    /// An initializer with elements but no data at all.
    case missingData(file: String, tensor: String, offset: Int)
    /// An initializer carries its data twice (raw_data and a typed field, or inline and
    /// external), or in a typed field its data type does not use.
    case conflictingData(file: String, tensor: String, offset: Int, reason: String)
    /// Two initializers with the same name.
    case duplicateTensor(file: String, tensor: String, offset: Int)
    /// An initializer without a name.
    case unnamedTensor(file: String, offset: Int)
    /// An external-data location Porter refuses to open: absolute, with `..`, empty, or
    /// leading (through a symbolic link) outside the model's folder.
    case externalDataRefused(file: String, tensor: String, location: String, reason: String)
    /// The external-data entries are incomplete or not numbers.
    case badExternalData(file: String, tensor: String, key: String, value: String)
    /// The external data file named by `location` is not there or cannot be opened.
    case externalDataMissing(file: String, tensor: String, path: String)
    /// The external byte range lies outside its data file, or does not hold the tensor.
    case externalDataOutOfRange(file: String, tensor: String, path: String, offset: Int, length: Int, fileSize: Int)
}

extension ONNXError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .fileTooLarge(file, size, limit):
            return "\(file): \(size) bytes is larger than protobuf's \(limit)-byte limit for one message; an ONNX model this large keeps its weights in external data files"
        case let .badVarint(file, offset, message):
            return "\(file): malformed varint at byte \(offset) in \(message); the file is truncated or not an ONNX model"
        case let .fieldOutOfBounds(file, offset, message, field, length, available):
            return "\(file): field \(field) of \(message) at byte \(offset) claims \(length) bytes but only \(available) remain in the message; the file is truncated or corrupted"
        case let .badWireType(file, offset, message, field, wireType):
            return "\(file): field \(field) of \(message) at byte \(offset) has wire type \(wireType), which it cannot have; the file is not an ONNX model or is corrupted"
        case let .nestingTooDeep(file, offset, depth, limit):
            return "\(file): messages nested \(depth) deep at byte \(offset); Porter follows at most \(limit) levels (subgraphs in subgraphs)"
        case let .noGraph(file):
            return "\(file): the ModelProto has no graph (field 7); not an ONNX model"
        case let .badDims(file, tensor, offset, reason):
            return "\(file): initializer '\(tensor)' at byte \(offset): \(reason)"
        case let .dataSizeMismatch(file, tensor, offset, field, expected, found):
            return "\(file): initializer '\(tensor)' at byte \(offset): \(field) holds \(found) but its dims need \(expected)"
        case let .missingData(file, tensor, offset):
            return "\(file): initializer '\(tensor)' at byte \(offset) has elements but no raw_data, typed data or external data"
        case let .conflictingData(file, tensor, offset, reason):
            return "\(file): initializer '\(tensor)' at byte \(offset): \(reason)"
        case let .duplicateTensor(file, tensor, offset):
            return "\(file): a second initializer named '\(tensor)' at byte \(offset)"
        case let .unnamedTensor(file, offset):
            return "\(file): the initializer at byte \(offset) has no name"
        case let .externalDataRefused(file, tensor, location, reason):
            return "\(file): initializer '\(tensor)': external data location \"\(location)\" refused: \(reason); Porter reads external data only from files inside the model's folder"
        case let .badExternalData(file, tensor, key, value):
            return "\(file): initializer '\(tensor)': external data entry \(key)=\"\(value)\" is not usable (location must be a file name; offset and length whole numbers)"
        case let .externalDataMissing(file, tensor, path):
            return "\(file): initializer '\(tensor)': external data file \(path) is missing or cannot be opened; copy it beside the model"
        case let .externalDataOutOfRange(file, tensor, path, offset, length, fileSize):
            return "\(file): initializer '\(tensor)': external bytes \(offset)..<\(offset + length) do not fit \(path) (\(fileSize) bytes), or do not hold the tensor; the data file is truncated or belongs to another model"
        }
    }
}
