import Foundation
import PorterCore

/// Writes a `torch.save`-compatible zip that `torch.load(weights_only=True)` accepts and
/// `mmap=True` can map: entries stored, data records 64-byte aligned, folder `archive/`,
/// `byteorder` little, `data.pkl` protocol 2 holding an OrderedDict of
/// `_rebuild_tensor_v2` calls (`_rebuild_tensor_v3` + `UntypedStorage` for dtypes without
/// a typed storage class). Tensors sharing a storage are written once and load shared.
public struct PyTorchWriter: ModelWriter {
    public init() {}

    public var info: FormatInfo {
        FormatInfo(id: "pytorch", name: "PyTorch checkpoint", extensions: [".pt", ".bin"],
                   summary: "torch.save zip (state dict as OrderedDict, 64-byte aligned stored records)")
    }

    public func producesDirectory(for model: NeutralModel, options: WriteOptions) -> Bool { false }

    /// One storage record of the output.
    struct Record {
        var key: String
        var dtype: DType
        var byteCount: Int
        /// Writes the record's bytes; also used once beforehand for the CRC.
        var source: Source
        enum Source { case wholeStorage(TensorStorage), tensor(TensorRef) }
    }

    public func write(_ model: NeutralModel, to url: URL, options: WriteOptions) throws {
        // Group tensors by storage identity; share a storage when every view of it is
        // little-endian with one dtype, else write each such tensor contiguously.
        var byStorage: [ObjectIdentifier: [TensorEntry]] = [:]
        for e in model.tensors { byStorage[ObjectIdentifier(e.tensor.storage), default: []].append(e) }
        var records: [Record] = []
        var recordOf: [ObjectIdentifier: Int] = [:]
        var views: [(name: String, record: Int, offset: Int, shape: Shape, strides: [Int])] = []
        for e in model.tensors {
            let t = e.tensor
            let id = ObjectIdentifier(t.storage)
            let group = byStorage[id] ?? []
            let shareable = group.allSatisfy { $0.tensor.dtype == t.dtype && ($0.tensor.byteOrder == .little || t.dtype.byteSize == 1) }
                && t.storage.byteCount % t.dtype.byteSize == 0
            if shareable {
                if recordOf[id] == nil {
                    recordOf[id] = records.count
                    records.append(Record(key: String(records.count), dtype: t.dtype, byteCount: t.storage.byteCount, source: .wholeStorage(t.storage)))
                }
                views.append((e.name, recordOf[id]!, t.offset, t.shape, t.strides ?? t.shape.contiguousStrides))
            } else {
                records.append(Record(key: String(records.count), dtype: t.dtype, byteCount: t.byteCount, source: .tensor(t)))
                views.append((e.name, records.count - 1, 0, t.shape, t.shape.contiguousStrides))
            }
        }
        let pickle = Self.statePickle(views: views, records: records)

        let out = try OutputFile(path: url.path)
        var zip = ZipWriter(out: out)
        try zip.add(name: "archive/data.pkl", bytes: pickle)
        try zip.add(name: "archive/byteorder", bytes: Array("little".utf8))
        options.progress.begin("writing PyTorch checkpoint", totalUnits: Int64(records.reduce(0) { $0 + $1.byteCount }))
        for r in records {
            let crc = try Self.crc(of: r)
            try zip.addStreamed(name: "archive/data/\(r.key)", size: r.byteCount, crc: crc) {
                switch r.source {
                case let .wholeStorage(s): try Self.copy(storage: s, to: out)
                case let .tensor(t): try out.write(tensor: t)
                }
            }
            options.progress.advance(Int64(r.byteCount))
        }
        try zip.add(name: "archive/version", bytes: Array("3\n".utf8))
        try zip.finish()
        try out.close()
        options.progress.end()
    }

    static func copy(storage: TensorStorage, to out: OutputFile) throws {
        if case let .file(file, base) = storage.backing {
            try out.copy(from: file, offset: base, count: storage.byteCount)
        } else {
            try storage.withBytes(0..<storage.byteCount) { try out.write($0) }
        }
    }

    static func crc(of r: Record) throws -> UInt32 {
        switch r.source {
        case let .wholeStorage(s):
            // Chunked so resident memory stays bounded for file-backed storages.
            var crc: UInt32 = 0
            var offset = 0
            let chunk = 64 << 20
            while offset < s.byteCount {
                let n = min(chunk, s.byteCount - offset)
                crc = try s.withBytes(offset..<(offset + n)) { Zlib.crc32($0, initial: crc) }
                offset += n
            }
            return crc
        case let .tensor(t):
            return try t.withContiguousBytes { Zlib.crc32($0) }
        }
    }

    // MARK: data.pkl

    static func statePickle(views: [(name: String, record: Int, offset: Int, shape: Shape, strides: [Int])], records: [Record]) -> [UInt8] {
        var p = PickleEmitter()
        p.raw([0x80, 0x02])
        p.global("collections", "OrderedDict")
        p.raw([0x29, 0x52])  // EMPTY_TUPLE REDUCE
        if !views.isEmpty {
            p.raw([0x28])  // MARK
            for v in views {
                let r = records[v.record]
                p.unicode(v.name)
                let typed = TorchTypes.storageClass(for: r.dtype)
                p.global("torch._utils", typed == nil ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2")
                p.raw([0x28])  // MARK (args)
                // persistent id ('storage', class, key, 'cpu', numel)
                p.raw([0x28])
                p.unicode("storage")
                if let typed { p.global("torch", typed) } else { p.global("torch", "UntypedStorage") }
                p.unicode(r.key)
                p.unicode("cpu")
                p.int(typed == nil ? r.byteCount : r.byteCount / r.dtype.byteSize)
                p.raw([0x74, 0x51])  // TUPLE BINPERSID
                p.int(v.offset)
                p.intTuple(v.shape.dims)
                p.intTuple(v.strides)
                p.raw([0x89])  // requires_grad False
                p.global("collections", "OrderedDict")
                p.raw([0x29, 0x52])  // backward hooks: OrderedDict()
                if typed == nil { p.global("torch", TorchTypes.torchName(for: r.dtype)) }
                p.raw([0x74, 0x52])  // TUPLE REDUCE
            }
            p.raw([0x75])  // SETITEMS
        }
        p.raw([0x2E])  // STOP
        return p.bytes
    }
}

/// Emits protocol-2 pickle opcodes.
struct PickleEmitter {
    var bytes: [UInt8] = []
    mutating func raw(_ b: [UInt8]) { bytes += b }
    mutating func global(_ module: String, _ name: String) {
        bytes.append(0x63)
        bytes += Array(module.utf8) + [0x0A] + Array(name.utf8) + [0x0A]
    }
    mutating func unicode(_ s: String) {
        let u = Array(s.utf8)
        bytes.append(0x58)
        withUnsafeBytes(of: UInt32(u.count).littleEndian) { bytes += $0 }
        bytes += u
    }
    mutating func int(_ v: Int) {
        if v >= 0 && v < 256 {
            bytes += [0x4B, UInt8(v)]
        } else if let i = Int32(exactly: v) {
            bytes.append(0x4A)
            withUnsafeBytes(of: i.littleEndian) { bytes += $0 }
        } else {
            bytes += [0x8A, 8]  // LONG1, 8 bytes two's complement
            withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 }
        }
    }
    mutating func intTuple(_ values: [Int]) {
        switch values.count {
        case 0: bytes.append(0x29)
        case 1: int(values[0]); bytes.append(0x85)
        case 2: int(values[0]); int(values[1]); bytes.append(0x86)
        case 3: values.forEach { int($0) }; bytes.append(0x87)
        default:
            bytes.append(0x28)
            values.forEach { int($0) }
            bytes.append(0x74)
        }
    }
}

/// A sequential zip writer: stored entries, data 64-byte aligned through a padding
/// extra field, ZIP64 records when sizes or offsets pass 4 GiB.
struct ZipWriter {
    let out: OutputFile
    var central: [UInt8] = []
    var count = 0
    static let alignment = 64

    init(out: OutputFile) { self.out = out }

    mutating func add(name: String, bytes: [UInt8]) throws {
        let crc = bytes.withUnsafeBytes { Zlib.crc32($0) }
        let out = self.out
        try addStreamed(name: name, size: bytes.count, crc: crc) { try out.write(bytes) }
    }

    mutating func addStreamed(name: String, size: Int, crc: UInt32, _ writeData: () throws -> Void) throws {
        let offset = out.bytesWritten
        let nameBytes = Array(name.utf8)
        let big = size >= 0xFFFF_FFFF || offset >= 0xFFFF_FFFF
        var extra: [UInt8] = []
        if big {
            extra += le16(0x0001) + le16(16) + le64(UInt64(size)) + le64(UInt64(size))
        }
        // Pad with an extra field so the data starts on an aligned offset.
        let base = offset + 30 + nameBytes.count + extra.count + 4
        let pad = (Self.alignment - base % Self.alignment) % Self.alignment
        extra += le16(0x4246) + le16(UInt16(pad)) + [UInt8](repeating: 0x5A, count: pad)
        var header: [UInt8] = le32(0x04034B50) + le16(big ? 45 : 20) + le16(0x0800) + le16(0) + le16(0) + le16(0x21)
        header += le32(crc) + le32(big ? 0xFFFF_FFFF : UInt32(size)) + le32(big ? 0xFFFF_FFFF : UInt32(size))
        header += le16(UInt16(nameBytes.count)) + le16(UInt16(extra.count)) + nameBytes + extra
        try out.write(header)
        let dataStart = out.bytesWritten
        try writeData()
        guard out.bytesWritten - dataStart == size else {
            throw PyTorchError.writeFailed(path: out.path, reason: "entry \(name) wrote \(out.bytesWritten - dataStart) bytes, expected \(size)")
        }
        var cExtra: [UInt8] = []
        if big { cExtra = le16(0x0001) + le16(24) + le64(UInt64(size)) + le64(UInt64(size)) + le64(UInt64(offset)) }
        central += le32(0x02014B50) + le16(big ? 45 : 20) + le16(big ? 45 : 20) + le16(0x0800) + le16(0) + le16(0) + le16(0x21)
        central += le32(crc) + le32(big ? 0xFFFF_FFFF : UInt32(size)) + le32(big ? 0xFFFF_FFFF : UInt32(size))
        central += le16(UInt16(nameBytes.count)) + le16(UInt16(cExtra.count)) + le16(0) + le16(0) + le16(0) + le32(0)
        central += le32(big ? 0xFFFF_FFFF : UInt32(offset)) + nameBytes + cExtra
        count += 1
    }

    mutating func finish() throws {
        let cdOffset = out.bytesWritten
        try out.write(central)
        let cdSize = central.count
        let needs64 = cdOffset >= 0xFFFF_FFFF || count >= 0xFFFF
        if needs64 {
            let recordOffset = out.bytesWritten
            var r = le32(0x06064B50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0)
            r += le64(UInt64(count)) + le64(UInt64(count)) + le64(UInt64(cdSize)) + le64(UInt64(cdOffset))
            r += le32(0x07064B50) + le32(0) + le64(UInt64(recordOffset)) + le32(1)
            try out.write(r)
        }
        var e = le32(0x06054B50) + le16(0) + le16(0)
        e += le16(UInt16(min(count, 0xFFFF))) + le16(UInt16(min(count, 0xFFFF)))
        e += le32(UInt32(min(cdSize, 0xFFFF_FFFF))) + le32(needs64 ? 0xFFFF_FFFF : UInt32(cdOffset)) + le16(0)
        try out.write(e)
    }

    func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
}
