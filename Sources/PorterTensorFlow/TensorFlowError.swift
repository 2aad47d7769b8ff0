import Foundation

/// Everything that can be wrong with a TensorFlow checkpoint or SavedModel. Every
/// message names the file and where in it (byte offset, index key or tensor name).
public enum TensorFlowError: Error, Sendable, Equatable {
    /// Neither `<prefix>.index` nor a SavedModel's `variables/variables.index` was found.
    case notABundle(path: String, reason: String)
    /// The 48-byte table footer is missing or its magic number is wrong.
    case badFooter(file: String, reason: String)
    /// A table block's masked CRC32C does not match its bytes.
    case blockChecksumMismatch(file: String, blockOffset: Int, stored: UInt32, computed: UInt32)
    /// A tensor's bytes do not match the CRC32C recorded in the index.
    case tensorChecksumMismatch(file: String, tensor: String, stored: UInt32, computed: UInt32)
    /// A table block's entries, restart points or handles are inconsistent.
    case malformedBlock(file: String, offset: Int, reason: String)
    /// A block uses a compression Porter does not read.
    case unsupportedCompression(file: String, blockOffset: Int, type: UInt8)
    /// An index entry's protobuf or its fields are wrong.
    case malformedEntry(file: String, key: String, reason: String)
    /// The header names data shards that are not there.
    case missingShard(file: String)
    /// A tensor's byte range lies outside its data shard (e.g. a truncated shard).
    case tensorOutOfRange(file: String, tensor: String, offset: Int, size: Int, fileSize: Int)
    /// A partitioned variable's slices are missing, overlapping or out of bounds.
    case badSlices(file: String, tensor: String, reason: String)
    /// `saved_model.pb` could not be decoded or lacks what Porter needs.
    case badSavedModel(file: String, reason: String)
    /// A reader option with a value the reader does not know.
    case badOption(path: String, option: String, value: String, expected: String)
    /// A folder's `checkpoint` state file names a checkpoint outside the folder (an
    /// absolute path elsewhere, `../..`, a link out), or is not a small text file.
    case stateFileOutsideFolder(stateFile: String, path: String)
}

extension TensorFlowError: LocalizedError {
    public var errorDescription: String? {
        func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
        switch self {
        case let .badOption(path, option, value, expected):
            return "\(path): reader option \(option)=\(value) is not one of: \(expected)"
        case let .stateFileOutsideFolder(stateFile, path):
            return "\(stateFile): model_checkpoint_path \"\(path)\" points outside the folder; Porter follows a state file only within its folder. Name the checkpoint prefix itself (e.g. …/model.ckpt) to read it"
        case let .notABundle(path, reason):
            return "\(path): not a TensorFlow checkpoint: \(reason); give the prefix (model.ckpt), its .index file, or a SavedModel folder"
        case let .badFooter(file, reason):
            return "\(file): bad table footer (last 48 bytes): \(reason); the index file is truncated or not a TensorFlow checkpoint index"
        case let .blockChecksumMismatch(file, offset, stored, computed):
            return "\(file): checksum error in the table block at byte \(offset) (stored \(hex(stored)), computed \(hex(computed))); the index file is corrupted"
        case let .tensorChecksumMismatch(file, tensor, stored, computed):
            return "\(file): checksum error in tensor '\(tensor)' (stored crc32c \(hex(stored)), computed \(hex(computed))); the data shard is corrupted"
        case let .malformedBlock(file, offset, reason):
            return "\(file): malformed table block at byte \(offset): \(reason)"
        case let .unsupportedCompression(file, offset, type):
            return "\(file): the table block at byte \(offset) uses compression type \(type); Porter reads uncompressed (0) and snappy (1) blocks only"
        case let .malformedEntry(file, key, reason):
            return "\(file): index entry '\(key)': \(reason)"
        case let .missingShard(file):
            return "\(file): data shard named by the checkpoint index is missing"
        case let .tensorOutOfRange(file, tensor, offset, size, fileSize):
            return "\(file): tensor '\(tensor)' needs bytes \(offset)..<\(offset + size) but the shard holds \(fileSize) bytes; the data shard is truncated"
        case let .badSlices(file, tensor, reason):
            return "\(file): partitioned variable '\(tensor)': \(reason)"
        case let .badSavedModel(file, reason):
            return "\(file): \(reason)"
        }
    }
}
