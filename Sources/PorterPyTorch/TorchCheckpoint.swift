import Foundation
import PorterCore
import PorterPickle

/// A PyTorch checkpoint opened without running anything from it: its object tree as
/// inert pickle values, with tensors resolved to lazy `TensorRef`s over the file.
public struct TorchCheckpoint: Sendable {
    public enum Kind: String, Sendable {
        /// `torch.save` zip (PyTorch ≥ 1.6).
        case zip
        /// `torch.jit.save` archive (has `constants.pkl` / `code/`).
        case torchscript
        /// Pre-1.6 `_use_new_zipfile_serialization=False` stream.
        case legacy
        /// Pre-1.0 tar (members `sys_info`, `pickle`, `tensors`, `storages`).
        case legacyTar
        /// A bare pickle without storages.
        case pickle
    }

    public var path: String
    public var kind: Kind
    /// The unpickled object (`data.pkl`, or the legacy object pickle).
    public var root: PickleValue
    /// TorchScript `constants.pkl` (a tuple), when present.
    public var constants: PickleValue?
    public var byteOrder: ByteOrder
    /// Facts worth telling the user (legacy sys_info, top folder name, ...).
    public var notes: [String]

    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    /// Largest pickle Porter unpickles (the tensor data is not in it).
    public static let maxPickleBytes = 1 << 30

    /// Opens a torch zip, TorchScript archive, legacy file or pre-1.0 tar. Throws
    /// `PickleError.dangerousGlobal` for files that name code-running globals.
    public static func open(_ url: URL) throws -> TorchCheckpoint {
        let file = try OpenFile(path: url.path)
        let head = try file.read(offset: 0, count: min(TarArchive.blockSize, file.size))
        // torch.load takes a file for a zip exactly when it starts with a local header.
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return try openZip(file) }
        // torch.load tries Python's tarfile on every file that is not a zip before it
        // unpickles anything: a first block tarfile accepts makes the file a tar.
        if TarArchive.looksLikeTar(head) { return try openLegacyTar(file) }
        if head.starts(with: legacyMagic) { return try openLegacy(file) }
        if head.first == 0x80 {
            // A bare pickle (no storages): still useful for scanning and configs.
            guard file.size <= maxPickleBytes else { throw PickleError.limitExceeded(source: file.path, offset: 0, limit: "pickle larger than 1 GiB") }
            return try bare(pickle: try file.read(offset: 0, count: file.size), path: file.path)
        }
        throw PyTorchError.notAZip(path: file.path, reason: "neither a zip archive, a legacy torch file, a torch tar nor a pickle")
    }

    /// A bare pickle (no tensor storages), run by the allow-list VM with the torch hooks (numpy
    /// arrays become tensors): a raw pickle file, or the pickle inside a numpy object array.
    public static func bare(pickle bytes: [UInt8], path: String) throws -> TorchCheckpoint {
        guard bytes.count <= maxPickleBytes else { throw PickleError.limitExceeded(source: path, offset: 0, limit: "pickle larger than 1 GiB") }
        let table = StorageTable { key, _ in
            throw PyTorchError.badPersistentID(path: path, offset: 0, reason: "a bare pickle cannot reference storage \(key)")
        }
        let root = try PickleVM.value(of: bytes, source: path, hooks: TorchUnpickler.hooks(path: path, table: table, byteOrder: .little))
        return TorchCheckpoint(path: path, kind: .pickle, root: root, constants: nil, byteOrder: .little, notes: ["bare pickle without tensor storages"])
    }

    static func openZip(_ file: OpenFile) throws -> TorchCheckpoint {
        let zip = try ZipArchive(file: file)
        try zip.refuseAmbiguity()
        guard let prefix = zip.torchPrefix else {
            throw PyTorchError.ambiguousArchive(path: file.path, reason: "its first entry \(zip.entries.first?.name ?? "") is in no folder, and torch reads every record from the first entry's folder (it refuses this file)")
        }
        guard let pkl = zip.entry(prefix + "data.pkl") else { throw PyTorchError.missingEntry(path: file.path, entry: prefix + "data.pkl") }
        var byteOrder = ByteOrder.little
        if let bo = zip.entry(prefix + "byteorder") {
            let text = String(decoding: try zip.read(bo), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            switch text {
            case "little": byteOrder = .little
            case "big": byteOrder = .big
            default: throw PyTorchError.badZip(path: file.path, offset: bo.localHeaderOffset, reason: "byteorder entry says '\(text.prefix(20))'")
            }
        }
        let isScript = zip.entry(prefix + "constants.pkl") != nil || zip.entries.contains { $0.name.hasPrefix(prefix + "code/") }
        func table(folder: String) -> StorageTable {
            StorageTable { key, _ in
                guard let e = zip.entry(prefix + folder + key) else { throw PyTorchError.missingEntry(path: file.path, entry: prefix + folder + key) }
                return try zip.storage(e)
            }
        }
        guard pkl.size <= maxPickleBytes else { throw PickleError.limitExceeded(source: file.path, offset: pkl.localHeaderOffset, limit: "data.pkl larger than 1 GiB") }
        let data = table(folder: "data/")
        let root = try PickleVM.value(of: try zip.read(pkl), source: "\(file.path):\(pkl.name)",
                                      hooks: TorchUnpickler.hooks(path: "\(file.path):\(pkl.name)", table: data, byteOrder: byteOrder))
        var constants: PickleValue?
        if let c = zip.entry(prefix + "constants.pkl") {
            let ctable = table(folder: "constants/")
            // Older TorchScript archives keep constants in data/ too.
            let fallback = StorageTable { key, dtype in
                if zip.entry(prefix + "constants/" + key) != nil { return try ctable.storage(key, dtype: dtype) }
                return try data.storage(key, dtype: dtype)
            }
            constants = try PickleVM.value(of: try zip.read(c), source: "\(file.path):\(c.name)",
                                           hooks: TorchUnpickler.hooks(path: "\(file.path):\(c.name)", table: fallback, byteOrder: byteOrder))
        }
        var notes: [String] = []
        if let other = zip.entries.first(where: { !$0.name.hasPrefix(prefix) }) {
            notes.append("entry \(other.name) is outside the archive folder \(prefix); torch does not read it either")
        }
        if isScript { notes.append("TorchScript archive: weights read from data.pkl; code/ was not run") }
        return TorchCheckpoint(path: file.path, kind: isScript ? .torchscript : .zip, root: root, constants: constants, byteOrder: byteOrder, notes: notes)
    }

    /// Reads a growing prefix of the file (16 MiB, then ×4, at most 1 GiB) until `parse`
    /// no longer runs off its end, so the storages after the pickles are never loaded.
    static func withPicklePrefix<T>(_ file: OpenFile, _ parse: ([UInt8]) throws -> T, needsMore: (T) -> Bool = { _ in false }) throws -> T {
        let limit = min(file.size, maxPickleBytes)
        var count = min(limit, 16 << 20)
        while true {
            let bytes = try file.read(offset: 0, count: count)
            do {
                let result = try parse(bytes)
                if count < limit && needsMore(result) { count = min(limit, count * 4); continue }
                return result
            } catch let e as PickleError where count < limit {
                switch e {
                case .truncated, .missingStop: count = min(limit, count * 4)
                default: throw e
                }
            }
        }
    }

    static func openLegacy(_ file: OpenFile) throws -> TorchCheckpoint {
        try withPicklePrefix(file) { try openLegacy(file, pickleBytes: $0) }
    }

    static func openLegacy(_ file: OpenFile, pickleBytes bytes: [UInt8]) throws -> TorchCheckpoint {
        let path = file.path
        var position = 0
        func next(_ what: String, hooks: PickleHooks = PickleHooks()) throws -> PickleValue {
            let (v, end) = try PickleVM.load(bytes, source: "\(path) (\(what))", start: position, hooks: hooks)
            position = end
            return v
        }
        let magic = try next("magic number")
        guard case let .bigInt(m) = magic, m.description == "0x1950a86a20f9469cfc6c" else {
            throw PyTorchError.badLegacy(path: path, offset: 0, reason: "magic number is not 0x1950a86a20f9469cfc6c")
        }
        let protocolVersion = try next("protocol version")
        guard protocolVersion.intValue == 1001 else {
            throw PyTorchError.badLegacy(path: path, offset: position, reason: "protocol version is not 1001")
        }
        let sysInfo = try next("sys_info")
        // torch writes legacy storage bytes and counts little-endian whatever the machine
        // (THPStorage_writeFileRaw swaps on big-endian hosts); sys_info only records the host.
        let byteOrder = ByteOrder.little
        var savedOnBigEndian = false
        var notes: [String] = ["legacy (pre-1.6) torch serialization"]
        if let d = sysInfo.dictValue {
            if d["little_endian"]?.boolValue == false {
                savedOnBigEndian = true
                notes.append("saved on a big-endian machine (sys_info); storages are little-endian in the file")
            }
            if let sizes = d["type_sizes"]?.dictValue, let long = sizes["long"]?.intValue, long != 8 {
                notes.append("saved where C long is \(long) bytes (sys_info type_sizes)")
            }
        }
        // Pass 1: learn which storages the object pickle names (and refuse dangerous globals).
        let objectStart = position
        final class Seen: @unchecked Sendable {
            var dtypes: [String: DType?] = [:]
            let lock = NSLock()
        }
        let seen = Seen()
        _ = try next("object pickle", hooks: PickleHooks(persistentLoad: { pid, offset in
            let ref = try TorchUnpickler.storageReference(pid, path: path, offset: offset)
            seen.lock.lock(); seen.dtypes[ref.key] = ref.dtype; seen.lock.unlock()
            return .none
        }))
        let keysValue = try next("storage keys")
        guard let keys = keysValue.sequenceItems?.compactMap({ $0.stringValue ?? $0.intValue.map(String.init) }) else {
            throw PyTorchError.badLegacy(path: path, offset: position, reason: "storage key list is \(keysValue.kindName)")
        }
        // Storages section: per key, an int64 element count then the bytes.
        var offsets: [String: (offset: Int, count: Int)] = [:]
        var cursor = position
        for key in keys {
            let header = try file.read(offset: cursor, count: 8)
            var r = ByteReader(header, source: path, baseOffset: cursor)
            var numel = try Int.checked(try r.readLE(UInt64.self), source: path, what: "element count of storage \(key)")
            let size = ((seen.dtypes[key] ?? nil)?.byteSize) ?? 1
            if savedOnBigEndian, numel.multipliedReportingOverflow(by: size).overflow || numel * size > file.size - cursor - 8 {
                // Torch before 1.0 wrote the count in the host's byte order.
                var be = ByteReader(header, source: path, baseOffset: cursor)
                numel = try Int.checked(try be.readBE(UInt64.self), source: path, what: "element count of storage \(key)")
            }
            let (bytesCount, o) = numel.multipliedReportingOverflow(by: size)
            guard !o else { throw CoreError.sizeOverflow(source: path, what: "storage \(key)") }
            try file.checkRange(offset: cursor + 8, count: bytesCount)
            offsets[key] = (cursor + 8, bytesCount)
            cursor += 8 + bytesCount
        }
        // Pass 2: rebuild the object with real storages.
        let storageOffsets = offsets
        let sectionEnd = cursor
        let table = StorageTable { key, _ in
            guard let o = storageOffsets[key] else { throw PyTorchError.badLegacy(path: path, offset: sectionEnd, reason: "storage \(key) is not in the storages section") }
            return try TensorStorage.file(file, offset: o.offset, count: o.count, label: "\(path):storage \(key)")
        }
        position = objectStart
        let root = try next("object pickle", hooks: TorchUnpickler.hooks(path: path, table: table, byteOrder: byteOrder))
        return TorchCheckpoint(path: path, kind: .legacy, root: root, constants: nil, byteOrder: byteOrder, notes: notes)
    }
}
