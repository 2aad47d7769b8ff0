import Foundation
import PorterCore
import PorterPyTorch

/// Reads numpy's own files: a `.npy` array (one tensor, named by the file's stem) and a
/// `.npz` archive (`np.savez` / `np.savez_compressed`: one tensor per `NAME.npy` member).
/// Data stays in the file (stored members) or is inflated on first use (deflated ones,
/// within the zip reader's inflate budget). Object arrays are refused: their data is a pickle.
public struct NumpyReader: ModelReader {
    public init() {}

    public var info: FormatInfo {
        FormatInfo(id: "numpy", name: "numpy array (.npy / .npz)", extensions: [".npy", ".npz"],
                   summary: "np.save arrays and np.savez archives (stored or deflated); object arrays refused")
    }

    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        if input.isDirectory { return .no }
        if input.headStarts(with: NpyHeader.magic) { return .certain }
        if input.headStarts(with: [0x50, 0x4B, 0x03, 0x04]), input.head.count >= 30 {
            let n = Int(input.head[26]) | Int(input.head[27]) << 8
            guard 30 + n <= input.head.count else { return .no }
            let name = String(decoding: input.head[30..<(30 + n)], as: UTF8.self)
            if name.hasSuffix(".npy") && !name.contains("/") { return .certain }
        }
        return .no
    }

    public func read(_ url: URL, options: ReadOptions) throws -> NeutralModel {
        let file = try OpenFile(path: url.path)
        var model = NeutralModel(sourceFormat: info.id, sourceFiles: [url.path])
        let head = try file.read(offset: 0, count: min(file.size, 12))
        if head.starts(with: NpyHeader.magic) {
            let name = url.deletingPathExtension().lastPathComponent
            let tensor = try Self.array(file: file, start: 0, size: file.size, label: url.path)
            try model.tensors.add(TensorEntry(name: name, tensor: tensor, provenance: Provenance(sourceFile: url.path, sourceName: name)))
            return model
        }
        let zip: ZipArchive
        do { zip = try ZipArchive(file: file) } catch {
            throw NumpyError.badArchive(path: url.path, reason: error.localizedDescription)
        }
        if let (a, b) = zip.collisions.first { throw NumpyError.badArchive(path: url.path, reason: "members \(a) and \(b) have the same name") }
        for entry in zip.entries {
            guard entry.name.hasSuffix(".npy") else {
                model.notes.append("member \(entry.name) is not a .npy array; not read")
                continue
            }
            let name = String(entry.name.dropLast(4))
            let label = "\(url.path): member \(entry.name)"
            let tensor: TensorRef
            if entry.method == 0 {
                tensor = try Self.array(file: file, start: try zip.dataOffset(of: entry), size: entry.size, label: label)
            } else {
                let bytes = try zip.read(entry)
                let header = try NpyHeader.parse(Array(bytes.prefix(NpyHeader.maxHeaderBytes + 12)), path: label)
                let data = Array(bytes[min(header.dataOffset, bytes.count)...])
                tensor = try Self.tensor(header, storage: TensorStorage(byteCount: data.count, backing: .memory(data), label: label),
                                         offset: 0, available: data.count, label: label)
            }
            do {
                try model.tensors.add(TensorEntry(name: name, tensor: tensor, provenance: Provenance(sourceFile: url.path, sourceName: entry.name)))
            } catch {
                throw NumpyError.badArchive(path: url.path, reason: "two members are named \(name)")
            }
        }
        return model
    }

    /// The array whose `.npy` bytes are `size` bytes at `start` of `file`.
    static func array(file: OpenFile, start: Int, size: Int, label: String) throws -> TensorRef {
        let head = try file.read(offset: start, count: min(size, NpyHeader.maxHeaderBytes + 12))
        let header = try NpyHeader.parse(head, path: label)
        let storage = try TensorStorage.file(file, offset: start + header.dataOffset, count: max(0, size - header.dataOffset), label: label)
        return try tensor(header, storage: storage, offset: 0, available: size - header.dataOffset, label: label)
    }

    static func tensor(_ h: NpyHeader, storage: TensorStorage, offset: Int, available: Int, label: String) throws -> TensorRef {
        let needed = h.elementCount * h.dtype.byteSize
        guard available >= needed else { throw NumpyError.truncated(path: label, needed: needed, available: max(0, available)) }
        let ref = TensorRef(dtype: h.dtype, shape: Shape(h.shape), storage: storage, offset: offset, strides: h.strides, byteOrder: h.byteOrder)
        try ref.validate(name: label)
        return ref
    }
}

extension NumpyReader: HazardChecking {
    /// An object array is the one hazard: its data is a pickle (numpy loads it only with
    /// `allow_pickle=True`). Every other check is the reader's.
    public func hazards(of url: URL) throws -> [String] {
        do { _ = try read(url, options: ReadOptions()) } catch let NumpyError.objectArray(path) {
            return ["\(path) is an object array: its data is a pickle that np.load(allow_pickle=True) would run"]
        }
        return []
    }
}
