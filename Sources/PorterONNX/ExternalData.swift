import Foundation
import PorterCore

/// External data files of one model: `location` is resolved inside the model's folder
/// only. Absolute paths, `..` components and symbolic links that lead out of the folder
/// are refused; each data file is opened once and shared by its tensors.
final class ExternalData: @unchecked Sendable {
    let modelPath: String
    let folder: URL
    private var open: [String: OpenFile] = [:]
    private(set) var filesOpened: [String] = []

    init(modelPath: String) {
        self.modelPath = modelPath
        self.folder = URL(fileURLWithPath: modelPath).deletingLastPathComponent()
    }

    /// Checks `location` and returns the real path of the file it names.
    func resolve(_ location: String, tensor: String) throws -> String {
        func refuse(_ reason: String) -> ONNXError {
            .externalDataRefused(file: modelPath, tensor: tensor, location: location, reason: reason)
        }
        guard !location.isEmpty else { throw refuse("it is empty") }
        guard !location.contains("\0") else { throw refuse("it contains a NUL byte") }
        guard !location.hasPrefix("/") else { throw refuse("it is an absolute path") }
        guard !location.contains("\\") else { throw refuse("it contains a backslash") }
        let parts = location.split(separator: "/", omittingEmptySubsequences: true)
        guard !parts.contains("..") else { throw refuse("it climbs out with '..'") }
        let candidate = folder.appendingPathComponent(location).path
        guard let realFolder = Self.realPath(folder.path) else {
            throw ONNXError.externalDataMissing(file: modelPath, tensor: tensor, path: candidate)
        }
        guard let real = Self.realPath(candidate) else {
            throw ONNXError.externalDataMissing(file: modelPath, tensor: tensor, path: candidate)
        }
        guard real.hasPrefix(realFolder.hasSuffix("/") ? realFolder : realFolder + "/") else {
            throw refuse("a symbolic link leads outside the model's folder (to \(real))")
        }
        return real
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    func storage(for t: TensorProto, byteCount: Int, label: String) throws -> TensorStorage {
        var location: String?
        var offset = 0
        var length: Int?
        for (key, value) in t.externalData {
            switch key {
            case "location": location = value
            case "offset":
                guard let v = Int(value), v >= 0 else { throw ONNXError.badExternalData(file: modelPath, tensor: t.name, key: key, value: value) }
                offset = v
            case "length":
                guard let v = Int(value), v >= 0 else { throw ONNXError.badExternalData(file: modelPath, tensor: t.name, key: key, value: value) }
                length = v
            default: break  // checksum (SHA-1, optional) and keys of newer versions
            }
        }
        guard let location else { throw ONNXError.badExternalData(file: modelPath, tensor: t.name, key: "location", value: "") }
        let real = try resolve(location, tensor: t.name)
        let file: OpenFile
        if let f = open[real] {
            file = f
        } else {
            do { file = try OpenFile(path: real) } catch {
                throw ONNXError.externalDataMissing(file: modelPath, tensor: t.name, path: real)
            }
            open[real] = file
            filesOpened.append(real)
        }
        let count = length ?? max(0, file.size - offset)
        let (end, o) = offset.addingReportingOverflow(count)
        guard !o, end <= file.size, count == byteCount else {
            throw ONNXError.externalDataOutOfRange(file: modelPath, tensor: t.name, path: real, offset: offset, length: count, fileSize: file.size)
        }
        return try TensorStorage.file(file, offset: offset, count: count, label: label)
    }
}
