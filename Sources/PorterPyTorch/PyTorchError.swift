import Foundation

/// Failures reading or writing PyTorch checkpoints; each names the file and where in it.
public enum PyTorchError: Error, Sendable, Equatable {
    case notAZip(path: String, reason: String)
    /// No end-of-central-directory record in the last `searched` bytes (of `size`): cut off,
    /// or never a zip (a zip's directory is at its end).
    case truncatedZip(path: String, size: Int, searched: Int)
    case badZip(path: String, offset: Int, reason: String)
    case missingEntry(path: String, entry: String)
    case unsupportedCompression(path: String, entry: String, method: Int)
    case inflateFailed(path: String, entry: String, reason: String)
    case badLegacy(path: String, offset: Int, reason: String)
    case badTar(path: String, offset: Int, reason: String)
    /// torch's loader and Porter could read different bytes from this archive: refused.
    case ambiguousArchive(path: String, reason: String)
    case badPersistentID(path: String, offset: Int, reason: String)
    case unsupportedStorage(path: String, offset: Int, storageClass: String)
    case unsupportedTensor(path: String, offset: Int, function: String, reason: String)
    case badTensorArguments(path: String, offset: Int, reason: String)
    case duplicateName(path: String, name: String)
    case badIndex(path: String, reason: String)
    case missingShard(path: String, shard: String)
    case dangerousFile(path: String, findings: [String])
    case writeFailed(path: String, reason: String)
    /// `--read-option state-dict=KEY.PATH` names a key the checkpoint does not have there
    /// (`available`: the keys at that level that hold tensors).
    case stateDictNotFound(path: String, keyPath: String, available: [String])
    /// `--read-option config=FILE` names a file that is no readable JSON object.
    case badConfig(path: String, config: String, reason: String)
}

extension PyTorchError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .notAZip(path, reason): return "\(path): not a zip archive: \(reason)"
        case let .truncatedZip(path, size, searched):
            return "\(path): truncated or not a zip archive? no end-of-central-directory record in its last \(searched) bytes (\(size) bytes in all)"
        case let .stateDictNotFound(path, keyPath, available):
            return "\(path): --read-option state-dict=\(keyPath): no dict or module holding tensors at that key path; keys there that hold tensors: \(available.isEmpty ? "none" : available.joined(separator: ", ")) (state-dict=. reads the whole checkpoint)"
        case let .badZip(path, offset, reason): return "\(path): corrupt zip at byte \(offset): \(reason)"
        case let .missingEntry(path, entry): return "\(path): the archive has no entry \(entry); not a torch.save / torch.jit.save file"
        case let .unsupportedCompression(path, entry, method): return "\(path): entry \(entry) uses zip compression method \(method); only stored (0) and deflate (8) are supported"
        case let .inflateFailed(path, entry, reason): return "\(path): cannot inflate entry \(entry): \(reason)"
        case let .badLegacy(path, offset, reason): return "\(path): legacy torch file is malformed at byte \(offset): \(reason)"
        case let .badTar(path, offset, reason): return "\(path): corrupt tar (pre-1.0 torch file) at byte \(offset): \(reason)"
        case let .ambiguousArchive(path, reason): return "\(path): refused: ambiguous archive: \(reason). Porter reads only what torch's own loader would read, unambiguously; rewrite the file with torch.save"
        case let .badPersistentID(path, offset, reason): return "\(path): bad storage reference at byte \(offset) of the pickle: \(reason)"
        case let .unsupportedStorage(path, offset, cls): return "\(path): storage class \(cls) at byte \(offset) of the pickle has no Porter dtype (complex128 and quantized storages are not supported)"
        case let .unsupportedTensor(path, offset, function, reason): return "\(path): tensor built by \(function) at byte \(offset) of the pickle is not supported: \(reason)"
        case let .badTensorArguments(path, offset, reason): return "\(path): tensor at byte \(offset) of the pickle: \(reason)"
        case let .duplicateName(path, name): return "\(path): two tensors flatten to the name \(name)"
        case let .badIndex(path, reason): return "\(path): bad shard index: \(reason)"
        case let .missingShard(path, shard): return "\(path): the index names shard \(shard), which is missing beside it"
        case let .dangerousFile(path, findings): return "\(path): refused: \(findings.joined(separator: "; ")). Porter never runs code from model files; run `porter scan` for the full inventory"
        case let .writeFailed(path, reason): return "\(path): cannot write PyTorch checkpoint: \(reason)"
        case let .badConfig(path, config, reason):
            return "\(path): --read-option config=\(config): \(reason) (give the transformers config.json of the model whose state dict this is)"
        }
    }
}
