import Foundation
import PorterCore
import PorterPickle

/// The pre-1.0 torch serialization (torch 0.1–0.3): a tar with members `sys_info`,
/// `pickle`, `tensors` and `storages`. The two binary members interleave small pickles
/// with raw data:
///
/// - `storages`: a count; per storage a pickled `(key, location, storage class)`, an
///   int64 element count and the bytes; then a pickled list of storage views
///   `(view key, root key, element offset, element count)`.
/// - `tensors`: a count; per tensor a pickled `(key, storage key, tensor class)`, then
///   int64 ndim, ndim int64 sizes, ndim int64 strides and an int64 storage offset.
/// - `pickle`: the object, naming tensors (and storages) by persistent id `str(key)`.
struct TorchTarLayout {
    struct Storage {
        let dtype: DType
        let dataOffset: Int
        let byteCount: Int
        let location: String
    }
    struct View {
        let root: String
        let elementOffset: Int
        let elementCount: Int
    }
    struct Tensor {
        let storage: String
        let shape: [Int]
        let strides: [Int]
        let offset: Int
    }

    static let maxItems = 10_000_000
    static let maxRank = 64

    var storages: [String: Storage] = [:]
    var views: [String: View] = [:]
    var tensors: [String: Tensor] = [:]
    var tensorOrder: [String] = []
    var locations: Set<String> = []

    /// Walks `storages` and `tensors`. `observe` sees the bytes of every small pickle read
    /// (for the scanner); it also sees the window of a pickle the VM refused.
    init(tar: TarArchive, observe: ((ArraySlice<UInt8>, _ fileOffset: Int, _ member: String) -> Void)? = nil) throws {
        let path = tar.file.path
        guard let st = tar.member("storages") else { throw PyTorchError.missingEntry(path: path, entry: "storages") }
        guard let te = tar.member("tensors") else { throw PyTorchError.missingEntry(path: path, entry: "tensors") }

        var cursor = MemberCursor(file: tar.file, member: st, observe: observe)
        let storageCount = try cursor.count("storage count")
        for i in 0..<storageCount {
            let at = cursor.position
            let items = try cursor.tuple("storage \(i) header", arity: 3)
            let key = try cursor.key(items[0], "storage \(i) key", at: at)
            guard case let .global(cls) = items[2] else {
                throw PyTorchError.badLegacy(path: path, offset: at, reason: "storage \(key) class is \(items[2].kindName)")
            }
            guard let dtype = TorchTypes.dtype(storageClass: cls.name) else {
                throw PyTorchError.unsupportedStorage(path: path, offset: at, storageClass: cls.description)
            }
            let count = try cursor.int64("element count of storage \(key)")
            let (bytes, o) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !o else { throw CoreError.sizeOverflow(source: path, what: "storage \(key)") }
            let dataOffset = cursor.position
            try cursor.skip(bytes, "bytes of storage \(key)")
            guard storages[key] == nil else { throw PyTorchError.badLegacy(path: path, offset: at, reason: "storage \(key) appears twice") }
            let location = items[1].stringValue ?? "cpu"
            locations.insert(location)
            storages[key] = Storage(dtype: dtype, dataOffset: dataOffset, byteCount: bytes, location: location)
        }
        let viewsAt = cursor.position
        let viewList = try cursor.pickle("storage views")
        guard let viewItems = viewList.sequenceItems else {
            throw PyTorchError.badLegacy(path: path, offset: viewsAt, reason: "storage views are \(viewList.kindName), not a list")
        }
        for v in viewItems {
            guard let f = v.sequenceItems, f.count == 4, let offset = f[2].intValue, let count = f[3].intValue, offset >= 0, count >= 0 else {
                throw PyTorchError.badLegacy(path: path, offset: viewsAt, reason: "a storage view is not (view key, root key, offset, count)")
            }
            let key = try cursor.key(f[0], "storage view key", at: viewsAt)
            let rootKey = try cursor.key(f[1], "storage view root", at: viewsAt)
            guard let root = storages[rootKey] else {
                throw PyTorchError.badLegacy(path: path, offset: viewsAt, reason: "storage view \(key) names root \(rootKey), which is not in the storages member")
            }
            guard count <= root.byteCount / root.dtype.byteSize - min(offset, root.byteCount / root.dtype.byteSize),
                  offset <= root.byteCount / root.dtype.byteSize else {
                throw PyTorchError.badLegacy(path: path, offset: viewsAt, reason: "storage view \(key) (offset \(offset), \(count) elements) overruns storage \(rootKey)")
            }
            guard storages[key] == nil, views[key] == nil else {
                throw PyTorchError.badLegacy(path: path, offset: viewsAt, reason: "storage view \(key) reuses a storage key")
            }
            views[key] = View(root: rootKey, elementOffset: offset, elementCount: count)
        }

        cursor = MemberCursor(file: tar.file, member: te, observe: observe)
        let tensorCount = try cursor.count("tensor count")
        for i in 0..<tensorCount {
            let at = cursor.position
            let items = try cursor.tuple("tensor \(i) header", arity: 3)
            let key = try cursor.key(items[0], "tensor \(i) key", at: at)
            if case .none = items[1] {
                throw PyTorchError.unsupportedTensor(path: path, offset: at, function: "tensor \(key)", reason: "it has no storage (torch 0.x empty tensor)")
            }
            let storageKey = try cursor.key(items[1], "storage of tensor \(key)", at: at)
            let rank = try cursor.int64("rank of tensor \(key)")
            guard rank <= Self.maxRank else { throw PyTorchError.badLegacy(path: path, offset: at, reason: "tensor \(key) has rank \(rank)") }
            var shape: [Int] = [], strides: [Int] = []
            for _ in 0..<rank { shape.append(try cursor.int64("size of tensor \(key)")) }
            for _ in 0..<rank { strides.append(try cursor.int64("stride of tensor \(key)", signed: true)) }
            let offset = try cursor.int64("storage offset of tensor \(key)")
            guard tensors[key] == nil else { throw PyTorchError.badLegacy(path: path, offset: at, reason: "tensor \(key) appears twice") }
            tensors[key] = Tensor(storage: storageKey, shape: shape, strides: strides, offset: offset)
            tensorOrder.append(key)
        }
    }
}

/// Reads the interleaved pickles and integers of one tar member, never past its end.
private struct MemberCursor {
    let file: OpenFile
    let member: TarArchive.Member
    let observe: ((ArraySlice<UInt8>, Int, String) -> Void)?
    var position: Int
    var source: String { "\(file.path):\(member.name)" }

    init(file: OpenFile, member: TarArchive.Member, observe: ((ArraySlice<UInt8>, Int, String) -> Void)?) {
        self.file = file
        self.member = member
        self.observe = observe
        self.position = member.dataOffset
    }

    /// The pickle at the cursor, read through a window that grows until it holds the
    /// whole pickle (64 KiB, ×4, at most the member's end or 1 GiB).
    mutating func pickle(_ what: String) throws -> PickleValue {
        let limit = min(member.end - position, TorchCheckpoint.maxPickleBytes)
        var window = min(limit, 64 << 10)
        while true {
            let bytes = try file.read(offset: position, count: window)
            do {
                let (value, end) = try PickleVM.load(bytes, source: "\(source) (\(what))", baseOffset: position)
                observe?(bytes[..<end], position, member.name)
                position += end
                return value
            } catch let e as PickleError {
                var ranOffWindow = false
                if case .truncated = e { ranOffWindow = true }
                if case .missingStop = e { ranOffWindow = true }
                if ranOffWindow, window < limit {
                    window = min(limit, window * 4)
                    continue
                }
                observe?(bytes[...], position, member.name)
                throw e
            }
        }
    }

    mutating func count(_ what: String) throws -> Int {
        let at = position
        guard let n = try pickle(what).intValue, n >= 0, n <= TorchTarLayout.maxItems else {
            throw PyTorchError.badLegacy(path: file.path, offset: at, reason: "\(what) in member \(member.name) is not a count up to \(TorchTarLayout.maxItems)")
        }
        return n
    }

    mutating func tuple(_ what: String, arity: Int) throws -> [PickleValue] {
        let at = position
        let v = try pickle(what)
        guard let items = v.sequenceItems, items.count == arity else {
            throw PyTorchError.badLegacy(path: file.path, offset: at, reason: "\(what) in member \(member.name) is \(v.kindName), not a \(arity)-tuple")
        }
        return items
    }

    func key(_ v: PickleValue, _ what: String, at: Int) throws -> String {
        if let i = v.intValue { return String(i) }
        if let s = v.stringValue, !s.isEmpty { return s }
        throw PyTorchError.badLegacy(path: file.path, offset: at, reason: "\(what) is \(v.kindName)")
    }

    /// A little-endian int64; non-negative unless `signed`.
    mutating func int64(_ what: String, signed: Bool = false) throws -> Int {
        guard member.end - position >= 8 else {
            throw CoreError.truncated(source: source, offset: position, needed: 8, available: member.end - position)
        }
        var r = ByteReader(try file.read(offset: position, count: 8), source: source, baseOffset: position)
        let v = Int(try r.readLE(Int64.self))
        guard signed || v >= 0 else { throw PyTorchError.badLegacy(path: file.path, offset: position, reason: "\(what) is negative (\(v))") }
        position += 8
        return v
    }

    mutating func skip(_ count: Int, _ what: String) throws {
        guard count <= member.end - position else {
            throw CoreError.truncated(source: source, offset: position, needed: count, available: member.end - position)
        }
        position += count
    }
}

extension TorchCheckpoint {
    static func openLegacyTar(_ file: OpenFile) throws -> TorchCheckpoint {
        let path = file.path
        let tar = try TarArchive(file: file)
        var notes = ["pre-1.0 torch tar serialization"]
        if let info = tar.member("sys_info") {
            let sysInfo = try PickleVM.value(of: try tar.read(info, limit: 1 << 20), source: "\(path):sys_info")
            if sysInfo.dictValue?["little_endian"]?.boolValue == false {
                // No big-endian tar exists to check the byte order against: refuse rather than
                // guess and return swapped numbers.
                throw PyTorchError.badLegacy(path: path, offset: info.dataOffset, reason: "saved on a big-endian machine; pre-1.0 tar files from big-endian hosts are not supported")
            }
        }
        guard let objectMember = tar.member("pickle") else { throw PyTorchError.missingEntry(path: path, entry: "pickle") }
        let layout = try TorchTarLayout(tar: tar)
        if layout.locations.contains(where: { $0 != "cpu" }) {
            notes.append("storages saved on \(layout.locations.sorted().joined(separator: ", ")) are read as CPU data")
        }
        if !layout.views.isEmpty { notes.append("\(layout.views.count) storage view(s) resolved to their root storages") }

        /// Every storage and storage-view key: its root storage, dtype, first element and element count.
        struct Resolved: Sendable {
            let storage: TensorStorage
            let dtype: DType
            let base: Int
            let count: Int
        }
        var resolvedStorages: [String: Resolved] = [:]
        for (key, s) in layout.storages {
            let storage = try TensorStorage.file(file, offset: s.dataOffset, count: s.byteCount, label: "\(path):storage \(key)")
            resolvedStorages[key] = Resolved(storage: storage, dtype: s.dtype, base: 0, count: s.byteCount / s.dtype.byteSize)
        }
        for (key, v) in layout.views {
            let root = resolvedStorages[v.root]!  // TorchTarLayout checked every view's root
            resolvedStorages[key] = Resolved(storage: root.storage, dtype: root.dtype, base: v.elementOffset, count: v.elementCount)
        }
        let resolved = resolvedStorages
        var tensors: [String: TensorRef] = [:]
        for key in layout.tensorOrder {
            let t = layout.tensors[key]!
            let label = "\(path): tensor \(key) (storage \(t.storage))"
            guard let r = resolved[t.storage] else {
                throw PyTorchError.badLegacy(path: path, offset: tar.member("tensors")!.dataOffset, reason: "tensor \(key) names storage \(t.storage), which the storages member does not hold")
            }
            // Stay inside the (view of the) storage: offset + Σ (size−1)·stride < count.
            if !t.shape.contains(0) {
                var last = t.offset
                for (size, stride) in zip(t.shape, t.strides) {
                    let (step, o1) = (size - 1).multipliedReportingOverflow(by: stride)
                    let (sum, o2) = last.addingReportingOverflow(step)
                    guard !o1, !o2 else { throw CoreError.sizeOverflow(source: path, what: "extent of tensor \(key)") }
                    last = sum
                }
                guard last >= 0, last < r.count else {
                    throw PyTorchError.badLegacy(path: path, offset: tar.member("tensors")!.dataOffset,
                                                 reason: "tensor \(key) reaches element \(last) of a storage of \(r.count) elements")
                }
            }
            let shape = Shape(t.shape)
            let ref = TensorRef(dtype: r.dtype, shape: shape, storage: r.storage, offset: r.base + t.offset,
                                strides: t.strides == shape.contiguousStrides ? nil : t.strides, byteOrder: .little)
            try ref.validate(name: label)
            tensors[key] = ref
        }

        let table = tensors
        let objectPath = "\(path):pickle"
        let hooks = PickleHooks(persistentLoad: { pid, offset in
            if let items = pid.sequenceItems, let first = items.first {
                return first  // (container class, source file, source): the class, inert
            }
            let key: String
            if let s = pid.stringValue { key = s } else if let i = pid.intValue { key = String(i) } else {
                throw PyTorchError.badPersistentID(path: objectPath, offset: offset, reason: "persistent id is \(pid.kindName)")
            }
            if let t = table[key] { return .tensor(t) }
            if let r = resolved[key] {
                return .storage(PickleStorage(storage: r.storage, dtype: r.dtype, byteOrder: .little, key: key))
            }
            throw PyTorchError.badPersistentID(path: objectPath, offset: offset, reason: "no tensor or storage \(key) in the tensors and storages members")
        }, reduce: { g, args, offset in
            try TorchUnpickler.reduce(g, args: args, path: objectPath, offset: offset)
        })
        let root = try PickleVM.load(try tar.read(objectMember, limit: maxPickleBytes), source: objectPath,
                                     baseOffset: objectMember.dataOffset, hooks: hooks).value
        return TorchCheckpoint(path: path, kind: .legacyTar, root: root, constants: nil, byteOrder: .little, notes: notes)
    }
}

extension PickleScanner {
    /// Scans a pre-1.0 torch tar: `sys_info` and `pickle` whole, and every small pickle
    /// inside `storages` and `tensors`.
    static func scanLegacyTar(_ file: OpenFile) throws -> ScanReport {
        var report = ScanReport(path: file.path, format: "torch-legacy-tar")
        // When tarfile fails after opening the file (a broken later header, a member cut
        // short), torch.load falls back to unpickling the file from byte 0: the header
        // bytes themselves run as pickles, so they are scanned as such too.
        let fallback = try TorchCheckpoint.withPicklePrefix(file) {
            PickleScanner.scanPickleSequence($0, path: file.path, format: "torch-legacy", maxCount: 5)
        }
        for f in fallback.findings where !f.reason.hasPrefix("malformed pickle") {
            report.add(ScanFinding(verdict: f.verdict, reason: "if tarfile fails, torch unpickles the file from byte 0: \(f.reason)",
                                   pickle: "bytes from 0 (\(f.pickle))", offset: f.offset))
        }
        report.globals += fallback.globals.filter { $0.classification != "allowed" }
        let tar: TarArchive
        do { tar = try TarArchive(file: file) } catch let PyTorchError.ambiguousArchive(_, reason) {
            report.add(ScanFinding(verdict: .dangerous, reason: "ambiguous archive: \(reason); Porter cannot tell which bytes torch would unpickle", pickle: "", offset: 0))
            return report
        } catch let e as PyTorchError {
            report.add(ScanFinding(verdict: .review, reason: "corrupt tar (torch may read members Porter could not follow): \(e.localizedDescription)", pickle: "", offset: 0))
            return report
        }
        for name in ["sys_info", "pickle"] {
            guard let m = tar.member(name) else {
                report.add(ScanFinding(verdict: .review, reason: "tar has no \(name) member", pickle: name, offset: 0))
                continue
            }
            guard m.size <= TorchCheckpoint.maxPickleBytes else {
                report.add(ScanFinding(verdict: .review, reason: "pickle member larger than 1 GiB not scanned", pickle: name, offset: m.headerOffset))
                continue
            }
            scanPickle(try tar.read(m, limit: TorchCheckpoint.maxPickleBytes), baseOffset: m.dataOffset, name: name, into: &report)
        }
        do {
            _ = try TorchTarLayout(tar: tar) { bytes, offset, member in
                scanPickle(Array(bytes), baseOffset: offset, name: member, into: &report)
            }
        } catch PickleError.dangerousGlobal {
            // Already a finding: the scanner saw the pickle the VM refused.
        } catch {
            report.add(ScanFinding(verdict: .review, reason: "malformed storages/tensors member: \(error.localizedDescription)", pickle: "", offset: 0))
        }
        // The small pickles repeat per storage and tensor: list each member once, and each
        // global once per member with its counts summed.
        var seen = Set<String>()
        report.pickles = report.pickles.filter { seen.insert($0).inserted }
        var merged: [ScannedGlobal] = []
        var row: [String: Int] = [:]
        for g in report.globals {
            let key = g.global + "\u{0}" + g.pickle
            if let i = row[key] {
                merged[i].count += g.count
                merged[i].firstOffset = Swift.min(merged[i].firstOffset, g.firstOffset)
            } else {
                row[key] = merged.count
                merged.append(g)
            }
        }
        report.globals = merged
        return report
    }
}
