import Foundation

/// Why a `.npy` / `.npz` file could not be read. Every case names the file (and, for `.npz`,
/// the member) and where in it.
public enum NumpyError: Error, LocalizedError, Equatable {
    case notNpy(path: String, reason: String)
    case badHeader(path: String, offset: Int, reason: String)
    case unsupportedDtype(path: String, descr: String)
    case objectArray(path: String)
    case truncated(path: String, needed: Int, available: Int)
    case badArchive(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .notNpy(path, reason): return "\(path): not a numpy .npy array: \(reason)"
        case let .badHeader(path, offset, reason): return "\(path): malformed .npy header at byte \(offset): \(reason)"
        case let .unsupportedDtype(path, descr): return "\(path): numpy dtype \(descr.prefix(80)) has no Porter dtype (structured, string and datetime arrays are not tensors)"
        case let .objectArray(path): return "\(path): object array: its data is a pickle, which numpy only loads with allow_pickle=True; Porter refuses it by default. `porter scan` shows what the pickle names; `--read-option allow-pickle=true` reads it with Porter's allow-list pickle VM (never numpy's unpickler), which refuses any pickle naming code"
        case let .truncated(path, needed, available): return "\(path): the array needs \(needed) bytes of data, the file holds \(available) after the header (truncated?)"
        case let .badArchive(path, reason): return "\(path): not a numpy .npz archive: \(reason)"
        }
    }
}
