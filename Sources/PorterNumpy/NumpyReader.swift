import Foundation
import PorterCore
import PorterPickle
import PorterPyTorch

/// Reads numpy's own files: a `.npy` array (one tensor, named by the file's stem) and a
/// `.npz` archive (`np.savez` / `np.savez_compressed`: one tensor per `NAME.npy` member).
/// Data stays in the file (stored members) or is inflated on first use (deflated ones,
/// within the zip reader's inflate budget). Object arrays are refused by default, as numpy
/// refuses them without `allow_pickle=True`: their data is a pickle. With
/// `--read-option allow-pickle=true` their pickle runs in Porter's allow-list VM (which
/// builds inert values and refuses code-running globals) and the arrays in it become
/// tensors named by their dict paths (`pnet.conv1.weights`); other values become config.
public struct NumpyReader: ModelReader {
    public init() {}

    public var info: FormatInfo {
        FormatInfo(id: "numpy", name: "numpy array (.npy / .npz)", extensions: [".npy", ".npz"],
                   summary: "np.save arrays and np.savez archives (stored or deflated); object arrays only with allow-pickle")
    }

    public var options: [FormatOption] {
        [FormatOption("allow-pickle", .bool,
                      help: "read object arrays (their data is a pickle) with Porter's allow-list pickle VM, as np.load(allow_pickle=True) would load them, but running no code")]
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
        let allowPickle = options.extra["allow-pickle"] == "true"
        let head = try file.read(offset: 0, count: min(file.size, 12))
        if head.starts(with: NpyHeader.magic) {
            let name = url.deletingPathExtension().lastPathComponent
            let header = try NpyHeader.parse(try file.read(offset: 0, count: min(file.size, NpyHeader.maxHeaderBytes + 12)), path: url.path,
                                             allowObject: allowPickle)
            if header.isObject {
                let pickle = try file.read(offset: header.dataOffset, count: max(0, file.size - header.dataOffset))
                try Self.addObjectArray(pickle, prefix: nil, label: url.path, to: &model)
                return model
            }
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
            if allowPickle {
                let bytes = try zip.read(entry)
                let header = try NpyHeader.parse(Array(bytes.prefix(NpyHeader.maxHeaderBytes + 12)), path: label, allowObject: true)
                if header.isObject {
                    try Self.addObjectArray(Array(bytes[min(header.dataOffset, bytes.count)...]), prefix: name, label: label, to: &model)
                    continue
                }
            }
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

    /// The tensors and values of an object array's pickle (numpy writes the array object
    /// itself: a 0-d array is its one element, a dict of arrays its arrays by dict path).
    static func addObjectArray(_ pickle: [UInt8], prefix: String?, label: String, to model: inout NeutralModel) throws {
        let part = try TorchCheckpoint.bare(pickle: pickle, path: label).neutralModel(sourceFormat: "numpy", stateDictPath: [])
        for var e in part.tensors {
            if let prefix { e.name = "\(prefix).\(e.name)" }
            do { try model.tensors.add(e) } catch { throw NumpyError.badArchive(path: label, reason: "two arrays are named \(e.name)") }
        }
        if part.config != .object([:]), part.config != .null {
            var config = model.config.objectValue ?? [:]
            config[prefix ?? "object_array"] = part.config
            model.config = .object(config)
        }
        model.dropped += part.dropped
        model.notes.append("\(label): object array read by Porter's allow-list pickle VM (allow-pickle): \(part.tensors.count) array(s)")
        model.notes += part.notes.filter { $0 != "bare pickle without tensor storages" }.map { "\(label): \($0)" }
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

extension NumpyReader: PickleScanning {
    /// Plain arrays hold no pickle: safe. An object array's data is a pickle that
    /// `np.load(allow_pickle=True)` runs, so each is scanned like any pickle, with a review
    /// finding at least (numpy refuses it by default; Porter reads it only with allow-pickle).
    public func scanPickles(of url: URL) throws -> ScanReport {
        var report = ScanReport(path: url.path, format: info.id)
        let file = try OpenFile(path: url.path)
        let head = try file.read(offset: 0, count: min(file.size, NpyHeader.maxHeaderBytes + 12))
        func scanArray(_ header: NpyHeader, pickle: () throws -> [UInt8], name: String, offset: Int) throws {
            guard header.isObject else { return }
            report.add(ScanFinding(verdict: .review, reason: "object array: its data is a pickle that np.load(allow_pickle=True) would run", pickle: name, offset: offset))
            let bytes = try pickle()
            guard bytes.count <= TorchCheckpoint.maxPickleBytes else {
                report.add(ScanFinding(verdict: .review, reason: "object array pickle larger than 1 GiB not scanned", pickle: name, offset: offset))
                return
            }
            PickleScanner.scanPickle(bytes, baseOffset: offset, name: name, into: &report)
        }
        if head.starts(with: NpyHeader.magic) {
            let header = try NpyHeader.parse(head, path: url.path, allowObject: true)
            try scanArray(header, pickle: { try file.read(offset: header.dataOffset, count: max(0, file.size - header.dataOffset)) },
                          name: url.lastPathComponent, offset: header.dataOffset)
        } else {
            let zip: ZipArchive
            do { zip = try ZipArchive(file: file) } catch {
                throw NumpyError.badArchive(path: url.path, reason: error.localizedDescription)
            }
            if let (a, b) = zip.collisions.first {
                report.add(ScanFinding(verdict: .dangerous, reason: "ambiguous archive: members \(a) and \(b) collide; np.load reads one of them", pickle: b, offset: 0))
            }
            for entry in zip.entries where entry.name.hasSuffix(".npy") {
                let label = "\(url.path): member \(entry.name)"
                if entry.method == 0 {
                    // Stored: the header from the file, the data only for an object array.
                    let start = try zip.dataOffset(of: entry)
                    let header = try NpyHeader.parse(try file.read(offset: start, count: min(entry.size, NpyHeader.maxHeaderBytes + 12)),
                                                     path: label, allowObject: true)
                    try scanArray(header, pickle: { try file.read(offset: start + header.dataOffset, count: max(0, entry.size - header.dataOffset)) },
                                  name: entry.name, offset: start + header.dataOffset)
                } else {
                    let bytes = try zip.read(entry)
                    let header = try NpyHeader.parse(Array(bytes.prefix(NpyHeader.maxHeaderBytes + 12)), path: label, allowObject: true)
                    try scanArray(header, pickle: { Array(bytes[min(header.dataOffset, bytes.count)...]) }, name: entry.name, offset: header.dataOffset)
                }
            }
        }
        if report.pickles.isEmpty {
            report.notes.append("safe — holds no pickle; the \(info.name) checks found nothing (docs/security.md)")
        }
        return report
    }
}
