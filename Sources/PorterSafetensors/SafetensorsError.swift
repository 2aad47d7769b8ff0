import Foundation

/// Every way a safetensors file, a sharded index or a safetensors write can fail.
///
/// Each message names the file and where in it: a byte offset, a tensor key or an
/// index entry.
public enum SafetensorsError: Error, Sendable, Equatable {
    /// The file is shorter than the 8-byte header length.
    case fileTooShort(file: String, size: Int)
    /// The header length exceeds the cap (the reference implementation's 100 MB).
    case headerTooLarge(file: String, length: UInt64, cap: Int)
    /// The header length runs past the end of the file.
    case headerPastEnd(file: String, length: UInt64, fileSize: Int)
    /// The header is not valid UTF-8; `offset` is the absolute byte offset of the first bad byte.
    case headerNotUTF8(file: String, offset: Int)
    /// The header does not start with `{` or is not a JSON object.
    case headerNotObject(file: String)
    /// The header is not valid JSON.
    case invalidJSON(file: String, offset: Int, reason: String)
    /// A tensor entry lacks `dtype`, `shape` or `data_offsets`, or has the wrong JSON type.
    case malformedEntry(file: String, tensor: String, reason: String)
    /// A tensor's dtype is not one safetensors defines (or Porter carries).
    case unknownDType(file: String, tensor: String, dtype: String)
    /// A negative dimension, or a shape whose element count overflows.
    case invalidShape(file: String, tensor: String, shape: [Int64])
    /// `data_offsets` with begin after end or a negative value.
    case invalidOffsets(file: String, tensor: String, begin: Int64, end: Int64)
    /// numel × element size does not equal the byte length of `data_offsets`.
    case sizeMismatch(file: String, tensor: String, dtype: String, shape: [Int64], expectedBytes: Int, actualBytes: Int)
    /// A tensor's range starts before the previous one ends.
    case overlappingOffsets(file: String, tensor: String, begin: Int, previous: String, previousEnd: Int)
    /// A tensor's range starts after the previous one ends, leaving a hole.
    case gapInOffsets(file: String, tensor: String, begin: Int, expected: Int)
    /// The tensors do not cover the data buffer exactly to the end of the file.
    case bufferNotCovered(file: String, covered: Int, bufferSize: Int)
    /// `__metadata__` is not an object of string values.
    case invalidMetadata(file: String, key: String)
    /// The `porter.aliases` metadata entry is unusable.
    case invalidAliases(file: String, reason: String)
    /// The shard index is not the expected JSON shape.
    case invalidIndex(index: String, reason: String)
    /// A shard named by the index is not on disk.
    case missingShard(index: String, shard: String)
    /// A shard file name that would leave the folder (`/`, `..`).
    case unsafeShardName(index: String, shard: String)
    /// The index maps a tensor to a shard that does not contain it.
    case tensorMissingFromShard(index: String, shard: String, tensor: String)
    /// A shard holds a tensor the index does not list for it.
    case tensorNotInIndex(index: String, shard: String, tensor: String)
    /// The same tensor name appears in two shards.
    case duplicateTensor(file: String, tensor: String)
    /// A tensor to be written has a shape or dtype safetensors cannot state.
    case unwritableTensor(tensor: String, reason: String)
}

extension SafetensorsError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .fileTooShort(file, size):
            return "\(file): only \(size) bytes; a safetensors file starts with an 8-byte header length"
        case let .headerTooLarge(file, length, cap):
            return "\(file): header length \(length) at byte 0 exceeds the \(cap)-byte cap; not a safetensors file or corrupt"
        case let .headerPastEnd(file, length, fileSize):
            return "\(file): header length \(length) at byte 0 runs past the end of the \(fileSize)-byte file (truncated?)"
        case let .headerNotUTF8(file, offset):
            return "\(file): header is not valid UTF-8 at byte \(offset)"
        case let .headerNotObject(file):
            return "\(file): header at byte 8 is not a JSON object"
        case let .invalidJSON(file, offset, reason):
            return "\(file): header is not valid JSON at byte \(offset): \(reason)"
        case let .malformedEntry(file, tensor, reason):
            return "\(file): header entry '\(tensor)': \(reason)"
        case let .unknownDType(file, tensor, dtype):
            return "\(file): tensor '\(tensor)' has unknown dtype '\(dtype)'"
        case let .invalidShape(file, tensor, shape):
            return "\(file): tensor '\(tensor)' has invalid shape \(shape) (negative or too large)"
        case let .invalidOffsets(file, tensor, begin, end):
            return "\(file): tensor '\(tensor)' has data_offsets [\(begin), \(end)) that are negative or reversed"
        case let .sizeMismatch(file, tensor, dtype, shape, expected, actual):
            return "\(file): tensor '\(tensor)' is \(dtype) \(shape), which needs \(expected) bytes, but data_offsets span \(actual)"
        case let .overlappingOffsets(file, tensor, begin, previous, previousEnd):
            return "\(file): tensor '\(tensor)' starts at data byte \(begin), inside '\(previous)' which ends at \(previousEnd)"
        case let .gapInOffsets(file, tensor, begin, expected):
            return "\(file): tensor '\(tensor)' starts at data byte \(begin), leaving a hole after byte \(expected)"
        case let .bufferNotCovered(file, covered, bufferSize):
            if covered > bufferSize {
                return "\(file): the tensors need \(covered) bytes of data but the file holds \(bufferSize) after the header (truncated?)"
            }
            return "\(file): tensors cover \(covered) bytes of the \(bufferSize)-byte data buffer; \(bufferSize - covered) bytes at the end belong to no tensor"
        case let .invalidMetadata(file, key):
            return "\(file): __metadata__ entry '\(key)' is not a string (safetensors metadata maps strings to strings)"
        case let .invalidAliases(file, reason):
            return "\(file): __metadata__ 'porter.aliases': \(reason)"
        case let .invalidIndex(index, reason):
            return "\(index): not a usable shard index: \(reason)"
        case let .missingShard(index, shard):
            return "\(index): names shard '\(shard)', which is not in the folder"
        case let .unsafeShardName(index, shard):
            return "\(index): shard name '\(shard)' points outside the folder; refusing it"
        case let .tensorMissingFromShard(index, shard, tensor):
            return "\(index): weight_map puts '\(tensor)' in \(shard), but that shard does not contain it"
        case let .tensorNotInIndex(index, shard, tensor):
            return "\(index): shard \(shard) holds '\(tensor)', which weight_map does not list for that shard"
        case let .duplicateTensor(file, tensor):
            return "\(file): tensor '\(tensor)' appears more than once"
        case let .unwritableTensor(tensor, reason):
            return "cannot write tensor '\(tensor)' as safetensors: \(reason)"
        }
    }
}

extension SafetensorsError {
    /// The case name, for tests and `--json` output (`headerPastEnd`, `gapInOffsets`, ...).
    public var caseName: String {
        switch self {
        case .fileTooShort: return "fileTooShort"
        case .headerTooLarge: return "headerTooLarge"
        case .headerPastEnd: return "headerPastEnd"
        case .headerNotUTF8: return "headerNotUTF8"
        case .headerNotObject: return "headerNotObject"
        case .invalidJSON: return "invalidJSON"
        case .malformedEntry: return "malformedEntry"
        case .unknownDType: return "unknownDType"
        case .invalidShape: return "invalidShape"
        case .invalidOffsets: return "invalidOffsets"
        case .sizeMismatch: return "sizeMismatch"
        case .overlappingOffsets: return "overlappingOffsets"
        case .gapInOffsets: return "gapInOffsets"
        case .bufferNotCovered: return "bufferNotCovered"
        case .invalidMetadata: return "invalidMetadata"
        case .invalidAliases: return "invalidAliases"
        case .invalidIndex: return "invalidIndex"
        case .missingShard: return "missingShard"
        case .unsafeShardName: return "unsafeShardName"
        case .tensorMissingFromShard: return "tensorMissingFromShard"
        case .tensorNotInIndex: return "tensorNotInIndex"
        case .duplicateTensor: return "duplicateTensor"
        case .unwritableTensor: return "unwritableTensor"
        }
    }
}
