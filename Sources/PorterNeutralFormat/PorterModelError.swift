import Foundation

/// Every way reading or writing Porter's on-disk form can fail. Messages name the
/// folder and the key path or file inside it.
public enum PorterModelError: Error, Sendable, Equatable {
    /// The folder has no `model.json`.
    case missingModelJSON(folder: String)
    /// `model.json` is not JSON of the expected shape; `keyPath` says where.
    case invalidModelJSON(file: String, keyPath: String, reason: String)
    /// `model.json` is JSON but its `format` is not `porter-model`.
    case notPorterModel(file: String, format: String)
    /// Written by a newer Porter whose layout this build does not know.
    case unsupportedVersion(file: String, found: Int, supported: Int)
    /// A provenance step of an older format version that this build cannot convert.
    case legacyStep(file: String, keyPath: String, version: Int, text: String)
    /// A file name in `model.json` that would leave the folder, or is empty or repeated.
    case unsafeFileName(file: String, keyPath: String, name: String)
    /// `model.json` lists a tensor the weights do not hold.
    case tensorMissingFromWeights(file: String, tensor: String)
    /// The weights hold a tensor `model.json` does not list.
    case tensorNotListed(file: String, tensor: String)
    /// dtype or shape in `model.json` disagrees with the weights.
    case tensorMismatch(file: String, tensor: String, reason: String)
    /// An `aliasOf` in `model.json` disagrees with the sharing in the weights.
    case aliasMismatch(file: String, tensor: String, reason: String)
    /// An asset listed in `model.json` is not under `assets/`.
    case missingAsset(folder: String, fileName: String)
    /// An asset's bytes do not match the digest in `model.json`.
    case assetDigestMismatch(folder: String, fileName: String, expected: String, actual: String)
}

extension PorterModelError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .missingModelJSON(folder):
            return "\(folder): no model.json; not a Porter model folder"
        case let .invalidModelJSON(file, keyPath, reason):
            return "\(file): at \(keyPath.isEmpty ? "top level" : keyPath): \(reason)"
        case let .notPorterModel(file, format):
            return "\(file): format is '\(format)', expected 'porter-model'"
        case let .unsupportedVersion(file, found, supported):
            return "\(file): written by a newer Porter (format version \(found)); this build reads versions 1 to \(supported). Upgrade Porter."
        case let .legacyStep(file, keyPath, version, text):
            return "\(file): at \(keyPath): '\(text)' is not a provenance step Porter wrote at format version \(version), so it cannot be converted to version \(PorterModelDocument.currentVersion); convert the source again with this Porter"
        case let .unsafeFileName(file, keyPath, name):
            return "\(file): at \(keyPath): file name '\(name)' is empty, repeated or points outside the folder"
        case let .tensorMissingFromWeights(file, tensor):
            return "\(file): lists tensor '\(tensor)', which the weights do not hold"
        case let .tensorNotListed(file, tensor):
            return "\(file): the weights hold '\(tensor)', which is not in the tensors list"
        case let .tensorMismatch(file, tensor, reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case let .aliasMismatch(file, tensor, reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case let .missingAsset(folder, fileName):
            return "\(folder): asset 'assets/\(fileName)' listed in model.json is missing"
        case let .assetDigestMismatch(folder, fileName, expected, actual):
            return "\(folder): asset 'assets/\(fileName)' has sha256 \(actual), model.json says \(expected)"
        }
    }
}
