import Foundation

/// Failures of Porter's byte-level plumbing: opening, mapping and reading files, and
/// tensor views that do not fit their storage.
public enum CoreError: Error, Sendable, Equatable {
    case cannotOpen(path: String, reason: String)
    case cannotRead(path: String, offset: Int, reason: String)
    case cannotWrite(path: String, reason: String)
    case truncated(source: String, offset: Int, needed: Int, available: Int)
    case sizeOverflow(source: String, what: String)
    case viewOutOfBounds(tensor: String, needed: Int, storageBytes: Int)
    case outputExists(path: String)
    case notAFile(path: String)
    case storageFailed(source: String, reason: String)
}

extension CoreError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .cannotOpen(path, reason):
            return "\(path): cannot open: \(reason)"
        case let .cannotRead(path, offset, reason):
            return "\(path): read failed at byte \(offset): \(reason)"
        case let .cannotWrite(path, reason):
            return "\(path): cannot write: \(reason)"
        case let .truncated(source, offset, needed, available):
            return "\(source): truncated at byte \(offset): needed \(needed) bytes, only \(available) remain"
        case let .sizeOverflow(source, what):
            return "\(source): \(what) overflows the addressable size"
        case let .viewOutOfBounds(tensor, needed, storageBytes):
            return "\(tensor): the tensor's shape, strides and offset need \(needed) bytes but its storage holds \(storageBytes)"
        case let .outputExists(path):
            return "\(path) already exists; pass --force to replace it"
        case let .notAFile(path):
            return "\(path): not a regular file or folder Porter can read"
        case let .storageFailed(source, reason):
            return "\(source): \(reason)"
        }
    }
}

/// Formats a POSIX errno as text.
public func posixMessage(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
