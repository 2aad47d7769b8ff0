import Foundation

/// Every way a GGUF file can fail to read or a model can fail to write as GGUF.
///
/// Each message names the file and where in it: the byte offset, and the metadata key or
/// tensor the bytes belong to.
public enum GGUFError: Error, Sendable, Equatable {
    /// The file does not start with the four bytes `GGUF`.
    case badMagic(file: String)
    /// A version other than 2 or 3 (version 1 used 32-bit counts and is not read).
    case unsupportedVersion(file: String, version: UInt32)
    /// The file ends inside a field; `what` names the field (`tensor count`, `key 'general.name'`).
    case truncated(file: String, offset: Int, what: String)
    /// A count (keys, tensors, array elements) that cannot fit in the bytes left in the file.
    case countTooLarge(file: String, offset: Int, what: String, count: UInt64, limit: UInt64)
    /// A string longer than the cap (or than the bytes left in the file).
    case stringTooLong(file: String, offset: Int, what: String, length: UInt64, cap: Int)
    /// A string that is not UTF-8.
    case invalidString(file: String, offset: Int, what: String)
    /// A metadata value type number GGUF does not define.
    case unknownValueType(file: String, offset: Int, key: String, type: UInt32)
    /// Arrays nested deeper than the cap.
    case arrayTooDeep(file: String, offset: Int, key: String, depth: Int)
    /// The same metadata key twice.
    case duplicateKey(file: String, offset: Int, key: String)
    /// A key Porter interprets (`general.alignment`) has the wrong type or value.
    case badMetadata(file: String, key: String, reason: String)
    /// `general.alignment` of 0 or not a power of two.
    case badAlignment(file: String, alignment: UInt64)
    /// The same tensor name twice.
    case duplicateTensor(file: String, offset: Int, tensor: String)
    /// More dimensions than ggml's 4, a dimension over Int64, or a product that overflows.
    case badShape(file: String, offset: Int, tensor: String, dims: [UInt64], reason: String)
    /// A tensor type number; `name` is ggml's name when it is a known type Porter does not read.
    case unsupportedTensorType(file: String, tensor: String, type: UInt32, name: String?)
    /// The innermost dimension is not a whole number of the type's blocks.
    case notWholeBlocks(file: String, tensor: String, type: String, innermost: Int, blockSize: Int)
    /// A tensor's data offset is not a multiple of the alignment.
    case misalignedTensor(file: String, tensor: String, offset: UInt64, alignment: Int)
    /// A tensor's bytes run past the end of the file.
    case tensorPastEnd(file: String, tensor: String, start: Int, bytes: Int, fileSize: Int)
    /// Two tensors' byte ranges overlap.
    case overlappingTensors(file: String, tensor: String, start: Int, other: String, otherEnd: Int)
    /// A split named by `split.count` is not beside the first.
    case missingSplit(file: String, split: String)
    /// A split set whose `split.*` keys disagree (numbering, count, total tensors).
    case badSplit(file: String, reason: String)
    /// A model Porter cannot write as GGUF (`reason` says why and what to do).
    case unwritable(tensor: String?, reason: String)
}

extension GGUFError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .badMagic(file):
            return "\(file): not a GGUF file (the first 4 bytes are not 'GGUF')"
        case let .unsupportedVersion(file, version):
            return "\(file): GGUF version \(version) at byte 4 is not supported (Porter reads versions 2 and 3)"
        case let .truncated(file, offset, what):
            return "\(file): the file ends at byte \(offset) inside \(what) (truncated?)"
        case let .countTooLarge(file, offset, what, count, limit):
            return "\(file): \(what) at byte \(offset) is \(count), more than the \(limit) the rest of the file can hold"
        case let .stringTooLong(file, offset, what, length, cap):
            return "\(file): \(what) at byte \(offset) claims \(length) bytes, over the \(cap)-byte cap or past the end of the file"
        case let .invalidString(file, offset, what):
            return "\(file): \(what) at byte \(offset) is not valid UTF-8"
        case let .unknownValueType(file, offset, key, type):
            return "\(file): key '\(key)' has value type \(type) at byte \(offset), which GGUF does not define"
        case let .arrayTooDeep(file, offset, key, depth):
            return "\(file): key '\(key)' nests arrays \(depth) deep at byte \(offset), over Porter's cap"
        case let .duplicateKey(file, offset, key):
            return "\(file): key '\(key)' at byte \(offset) appears twice"
        case let .badMetadata(file, key, reason):
            return "\(file): key '\(key)': \(reason)"
        case let .badAlignment(file, alignment):
            return "\(file): key 'general.alignment' is \(alignment); it must be a power of two greater than 0"
        case let .duplicateTensor(file, offset, tensor):
            return "\(file): tensor '\(tensor)' at byte \(offset) appears twice"
        case let .badShape(file, offset, tensor, dims, reason):
            return "\(file): tensor '\(tensor)' at byte \(offset) has dimensions \(dims): \(reason)"
        case let .unsupportedTensorType(file, tensor, type, name):
            if let name {
                return "\(file): tensor '\(tensor)' is \(name) (ggml type \(type)), which Porter does not read; see docs/formats/gguf.md"
            }
            return "\(file): tensor '\(tensor)' has ggml type \(type), which is not a type ggml defines"
        case let .notWholeBlocks(file, tensor, type, innermost, blockSize):
            return "\(file): tensor '\(tensor)' is \(type) but its innermost dimension \(innermost) is not a multiple of the \(blockSize)-element block"
        case let .misalignedTensor(file, tensor, offset, alignment):
            return "\(file): tensor '\(tensor)' has data offset \(offset), not a multiple of the alignment \(alignment)"
        case let .tensorPastEnd(file, tensor, start, bytes, fileSize):
            return "\(file): tensor '\(tensor)' needs \(bytes) bytes from byte \(start), past the end of the \(fileSize)-byte file (truncated?)"
        case let .overlappingTensors(file, tensor, start, other, otherEnd):
            return "\(file): tensor '\(tensor)' starts at byte \(start), inside '\(other)' which ends at byte \(otherEnd)"
        case let .missingSplit(file, split):
            return "\(file): its split.count names split '\(split)', which is not in the folder"
        case let .badSplit(file, reason):
            return "\(file): not a consistent split set: \(reason)"
        case let .unwritable(tensor, reason):
            return "cannot write \(tensor.map { "tensor '\($0)'" } ?? "the model") as GGUF: \(reason)"
        }
    }
}

extension GGUFError {
    /// The case name, for tests and `--json` output.
    public var caseName: String {
        switch self {
        case .badMagic: return "badMagic"
        case .unsupportedVersion: return "unsupportedVersion"
        case .truncated: return "truncated"
        case .countTooLarge: return "countTooLarge"
        case .stringTooLong: return "stringTooLong"
        case .invalidString: return "invalidString"
        case .unknownValueType: return "unknownValueType"
        case .arrayTooDeep: return "arrayTooDeep"
        case .duplicateKey: return "duplicateKey"
        case .badMetadata: return "badMetadata"
        case .badAlignment: return "badAlignment"
        case .duplicateTensor: return "duplicateTensor"
        case .badShape: return "badShape"
        case .unsupportedTensorType: return "unsupportedTensorType"
        case .notWholeBlocks: return "notWholeBlocks"
        case .misalignedTensor: return "misalignedTensor"
        case .tensorPastEnd: return "tensorPastEnd"
        case .overlappingTensors: return "overlappingTensors"
        case .missingSplit: return "missingSplit"
        case .badSplit: return "badSplit"
        case .unwritable: return "unwritable"
        }
    }
}
