import Foundation

/// Failures reading or writing HDF5 / Keras files. Every case names the file and the
/// HDF5 object path (or archive entry) where it happened.
public enum HDF5Error: Error, Sendable, Equatable {
    /// The file does not carry an HDF5 superblock.
    case notHDF5(file: String)
    /// libhdf5 refused to open the file (truncated, corrupt); `detail` is HDF5's error stack.
    case cannotOpen(file: String, detail: String)
    /// A group or dataset the layout requires is absent.
    case missingObject(file: String, path: String)
    case missingAttribute(file: String, path: String, attribute: String)
    /// An attribute exists but does not hold what the layout requires.
    case badAttribute(file: String, path: String, attribute: String, reason: String)
    /// A dataset's element type has no Porter dtype (strings, compounds, other enums).
    case unsupportedType(file: String, path: String, type: String)
    /// libhdf5 failed on an object; `detail` is HDF5's error stack.
    case operationFailed(file: String, path: String, operation: String, detail: String)
    /// A layer group lists weights (`weight_names`) but the attribute is absent.
    case missingWeightNames(file: String, layerPath: String)
    /// `weight_names` names a dataset that is not in the file.
    case missingWeight(file: String, layerPath: String, weightName: String)
    /// A dataset or attribute larger than Porter accepts.
    case tooLarge(file: String, path: String, bytes: Int, limit: Int)
    /// The Keras `model_config` / `config.json` is not valid JSON of the expected shape.
    case invalidModelConfig(file: String, reason: String)
    /// A transformers `tf_model.h5.index.json` that is not a usable shard index.
    case badShardIndex(file: String, reason: String)
    /// A `.keras` zip archive problem, at a byte offset of the archive.
    case archive(file: String, offset: Int, reason: String)
    /// The model cannot be written in this layout (a name that maps to no layer, a dtype HDF5 lacks).
    case cannotWrite(file: String, tensor: String, reason: String)
    /// libhdf5 crashed (signal `signal`) reading the file in the isolated reader
    /// child process (`HDF5Isolation`): the file is corrupt.
    case libraryCrashed(file: String, signal: Int32)
    /// A dataset stores its bytes in another file (external storage, `H5Pset_external`).
    case externalStorage(file: String, dataset: String, target: String)
    /// A virtual dataset (VDS): its bytes come from source datasets, here in `source`.
    case virtualDataset(file: String, dataset: String, source: String)
    /// An external link (`H5Lcreate_external`): the object lives in another file.
    case externalLink(file: String, link: String, target: String)
    /// A link of a user-defined class (type `linkType`), which libhdf5 resolves by a registered callback.
    case userDefinedLink(file: String, link: String, linkType: Int)
    /// A soft link whose target path does not exist in the file.
    case danglingSoftLink(file: String, link: String, target: String)
    /// A dataset's filter pipeline holds a filter that is not one of libhdf5's built-in
    /// filters (it would need a plugin, which Porter never loads).
    case filterNotBuiltIn(file: String, dataset: String, filter: Int, name: String)
    /// The isolated reader child (`HDF5Isolation`) exceeded a limit (`resource` is
    /// "memory" or "time"; `limit` says how much was allowed).
    case resourceLimit(file: String, resource: String, limit: String)
    /// The reader child (`HDF5Isolation`) met an error; `message` is its description,
    /// which names the file and where in it.
    case reported(file: String, message: String)
}

extension HDF5Error: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .notHDF5(file):
            return "\(file): not an HDF5 file (no HDF5 signature 89 48 44 46 0d 0a 1a 0a at byte 0, 512, 1024, …)"
        case let .cannotOpen(file, detail):
            return "\(file): libhdf5 cannot open it (truncated or corrupt?): \(detail)"
        case let .missingObject(file, path):
            return "\(file): object \(path) is missing"
        case let .missingAttribute(file, path, attribute):
            return "\(file): \(path) has no attribute '\(attribute)'"
        case let .badAttribute(file, path, attribute, reason):
            return "\(file): attribute '\(attribute)' of \(path): \(reason)"
        case let .unsupportedType(file, path, type):
            return "\(file): dataset \(path) has element type \(type), which Porter does not carry"
        case let .operationFailed(file, path, operation, detail):
            return "\(file): \(operation) failed on \(path): \(detail)"
        case let .missingWeightNames(file, layerPath):
            return "\(file): layer group \(layerPath) has no 'weight_names' attribute; the file is not a Keras weights layout"
        case let .missingWeight(file, layerPath, weightName):
            return "\(file): layer group \(layerPath) lists weight '\(weightName)' in weight_names but no such dataset exists (\(layerPath)/\(weightName))"
        case let .tooLarge(file, path, bytes, limit):
            return "\(file): \(path) holds \(bytes) bytes, more than Porter's limit of \(limit)"
        case let .badShardIndex(file, reason):
            return "\(file): bad shard index: \(reason)"
        case let .invalidModelConfig(file, reason):
            return "\(file): Keras model config: \(reason)"
        case let .archive(file, offset, reason):
            return "\(file): .keras archive at byte \(offset): \(reason)"
        case let .cannotWrite(file, tensor, reason):
            return "\(file): cannot write tensor \(tensor): \(reason)"
        case let .libraryCrashed(file, signal):
            return "\(file): the file is corrupt: libhdf5 crashed (signal \(signal)) reading it in Porter's isolated reader process (or the process ran out of its memory cap); nothing of it was used"
        case let .externalStorage(file, dataset, target):
            return "\(file): dataset \(dataset) keeps its bytes in another file (HDF5 external storage: \(target)); Porter reads nothing outside the file it is given and refuses it"
        case let .virtualDataset(file, dataset, source):
            return "\(file): dataset \(dataset) is an HDF5 virtual dataset whose bytes come from \(source); Porter reads nothing outside the file it is given and refuses it"
        case let .externalLink(file, link, target):
            return "\(file): \(link) is an HDF5 external link to \(target); Porter reads nothing outside the file it is given and refuses it"
        case let .userDefinedLink(file, link, linkType):
            return "\(file): \(link) is an HDF5 link of user-defined type \(linkType), which Porter does not follow; refused"
        case let .danglingSoftLink(file, link, target):
            return "\(file): soft link \(link) points to \(target), which does not exist in the file; refused"
        case let .filterNotBuiltIn(file, dataset, filter, name):
            return "\(file): dataset \(dataset) needs HDF5 filter \(filter)\(name.isEmpty ? "" : " (\(name))"), which is not built into libhdf5; Porter never loads filter plugins, so it refuses the file"
        case let .resourceLimit(file, resource, limit):
            return "\(file): reading it exceeded the \(resource) limit of Porter's isolated HDF5 reader process (\(limit)); the file is corrupt, hostile or larger than the limit allows, and nothing of it was used (see docs/security.md (HDF5 confinement) to raise the limit)"
        case let .reported(file, message):
            return message.contains(file) ? message : "\(file): \(message)"
        }
    }
}
