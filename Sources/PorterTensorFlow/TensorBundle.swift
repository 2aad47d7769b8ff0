import Foundation
import PorterCore
import SwiftProtobuf

/// Decoding options for every protobuf Porter reads from TensorFlow files: a recursion
/// limit so hostile nesting cannot exhaust the stack.
let protobufOptions: BinaryDecodingOptions = {
    var o = BinaryDecodingOptions()
    o.messageDepthLimit = 64
    o.discardUnknownFields = true
    return o
}()

/// One tensor listed in a bundle's index.
public struct BundleTensorInfo: Sendable, Hashable {
    public var name: String
    /// TensorFlow's `DataType` number.
    public var tfDType: Int
    /// Porter's dtype, nil for strings, resources, variants and other kinds Porter does not carry.
    public var dtype: DType?
    public var shape: [Int]
    /// Number of slices a partitioned variable was saved in (0 when saved whole).
    public var sliceCount: Int
}

/// A TensorFlow tensor bundle (`<prefix>.index` + `<prefix>.data-NNNNN-of-NNNNN`): the
/// format of TF1 Saver checkpoints, `tf.train.Checkpoint` and SavedModel variables.
///
/// Opening reads and checks the whole index (every block's masked CRC32C); tensors
/// are checked against their crc32c when read.
public struct TensorBundle: Sendable {
    public let prefix: String
    public let indexPath: String
    let entries: [[UInt8]: Tensorflow_BundleEntryProto]
    /// Names of whole tensors (not slice entries), in index order.
    public let names: [String]
    let shards: [OpenFile]
    public let bigEndian: Bool

    /// Name of the string tensor holding a `tf.train.Checkpoint`'s object graph.
    public static let objectGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH"
    static let maxShards = 100_000

    /// Opens the bundle whose index is `<prefix>.index`.
    public init(prefix: String) throws {
        self.prefix = prefix
        indexPath = prefix + ".index"
        guard FileManager.default.fileExists(atPath: indexPath) else {
            throw TensorFlowError.notABundle(path: prefix, reason: "\(indexPath) does not exist")
        }
        let table = SSTable(file: try OpenFile(path: indexPath))
        var entries: [[UInt8]: Tensorflow_BundleEntryProto] = [:]
        var names: [String] = []
        var header: Tensorflow_BundleHeaderProto?
        for (key, value) in try table.entries() {
            if key.isEmpty {
                do { header = try Tensorflow_BundleHeaderProto(serializedBytes: value, options: protobufOptions) } catch {
                    throw TensorFlowError.malformedEntry(file: indexPath, key: "(header)", reason: "not a BundleHeaderProto: \(error)")
                }
                continue
            }
            let entry: Tensorflow_BundleEntryProto
            do { entry = try Tensorflow_BundleEntryProto(serializedBytes: value, options: protobufOptions) } catch {
                throw TensorFlowError.malformedEntry(file: indexPath, key: printable(key), reason: "not a BundleEntryProto: \(error)")
            }
            entries[key] = entry
            // Slice entries are keyed by an ordered-code encoding that starts with a 0 byte.
            if key.first != 0 {
                guard let name = String(bytes: key, encoding: .utf8) else {
                    throw TensorFlowError.malformedEntry(file: indexPath, key: printable(key), reason: "tensor name is not UTF-8")
                }
                names.append(name)
            }
        }
        guard let header else {
            throw TensorFlowError.malformedEntry(file: indexPath, key: "(header)", reason: "the index has no header entry (empty key)")
        }
        let shardCount = Int(header.numShards)
        guard shardCount >= 0, shardCount <= Self.maxShards else {
            throw TensorFlowError.malformedEntry(file: indexPath, key: "(header)", reason: "\(header.numShards) data shards")
        }
        var shards: [OpenFile] = []
        for i in 0..<shardCount {
            let path = Self.shardPath(prefix: prefix, shard: i, of: shardCount)
            guard FileManager.default.fileExists(atPath: path) else { throw TensorFlowError.missingShard(file: path) }
            shards.append(try OpenFile(path: path))
        }
        self.entries = entries
        self.names = names
        self.shards = shards
        self.bigEndian = header.endianness == .big
    }

    /// `<prefix>.data-00001-of-00002`.
    public static func shardPath(prefix: String, shard: Int, of count: Int) -> String {
        func five(_ n: Int) -> String { let s = String(n); return String(repeating: "0", count: max(0, 5 - s.count)) + s }
        return "\(prefix).data-\(five(shard))-of-\(five(count))"
    }

    /// Every data shard's path.
    public var shardPaths: [String] { shards.map(\.path) }

    func entry(_ name: String) throws -> Tensorflow_BundleEntryProto {
        guard let e = entries[Array(name.utf8)] else {
            throw TensorFlowError.malformedEntry(file: indexPath, key: name, reason: "no such tensor in the index")
        }
        return e
    }

    /// The index's description of tensor `name`.
    public func info(_ name: String) throws -> BundleTensorInfo {
        let e = try entry(name)
        return BundleTensorInfo(name: name, tfDType: e.dtype.rawValue, dtype: Self.dtype(e.dtype.rawValue),
                                shape: e.shape.dim.map { Int($0.size) }, sliceCount: e.slices.count)
    }

    /// Porter's dtype for a TensorFlow `DataType` number (nil: not carried).
    public static func dtype(_ tf: Int) -> DType? {
        switch tf {
        case 1: return .f32
        case 2: return .f64
        case 3: return .i32
        case 4: return .u8
        case 5: return .i16
        case 6: return .i8
        case 8: return .c64
        case 9: return .i64
        case 10: return .bool
        case 14: return .bf16
        case 17: return .u16
        case 19: return .f16
        case 22: return .u32
        case 23: return .u64
        case 24: return .f8e5m2
        case 25: return .f8e4m3
        default: return nil
        }
    }

    /// TensorFlow's name of a `DataType` number, for reasons and notes.
    public static func dtypeName(_ tf: Int) -> String {
        let names = [0: "invalid", 7: "string", 11: "qint8", 12: "quint8", 13: "qint32", 15: "qint16", 16: "quint16",
                     18: "complex128", 20: "resource", 21: "variant"]
        if let d = dtype(tf) { return d.rawValue }
        return names[tf] ?? "DataType \(tf)"
    }

    func shape(of e: Tensorflow_BundleEntryProto, name: String) throws -> Shape {
        let dims = e.shape.dim.map { Int($0.size) }
        guard !e.shape.unknownRank, dims.allSatisfy({ $0 >= 0 }), Shape(dims).elementCount != nil else {
            throw TensorFlowError.malformedEntry(file: indexPath, key: name, reason: "shape \(dims) is not a valid static shape")
        }
        return Shape(dims)
    }

    /// The shard file and checked byte range of a whole (unsliced) entry.
    func location(of e: Tensorflow_BundleEntryProto, name: String) throws -> (OpenFile, Int, Int) {
        let shard = Int(e.shardID)
        guard shard >= 0, shard < shards.count else {
            throw TensorFlowError.malformedEntry(file: indexPath, key: name, reason: "shard \(e.shardID) of \(shards.count)")
        }
        let file = shards[shard]
        let offset = Int(e.offset), size = Int(e.size)
        let (end, o) = offset.addingReportingOverflow(size)
        guard offset >= 0, size >= 0, !o else {
            throw TensorFlowError.malformedEntry(file: indexPath, key: name, reason: "byte range \(e.offset)+\(e.size)")
        }
        guard end <= file.size else {
            throw TensorFlowError.tensorOutOfRange(file: file.path, tensor: name, offset: offset, size: size, fileSize: file.size)
        }
        return (file, offset, size)
    }

    /// Reads `count` bytes of a shard and checks them against the entry's crc32c.
    func verifiedBytes(_ e: Tensorflow_BundleEntryProto, name: String) throws -> [UInt8] {
        let (file, offset, size) = try location(of: e, name: name)
        let bytes = try file.read(offset: offset, count: size)
        let computed = CRC32C.checksum(bytes)
        guard computed == CRC32C.unmask(e.crc32C) else {
            throw TensorFlowError.tensorChecksumMismatch(file: file.path, tensor: name, stored: CRC32C.unmask(e.crc32C), computed: computed)
        }
        return bytes
    }

    /// Checks a whole entry's crc32c without copying its bytes (maps the range).
    func verify(_ e: Tensorflow_BundleEntryProto, name: String) throws -> (OpenFile, Int, Int) {
        let (file, offset, size) = try location(of: e, name: name)
        let computed = try file.withMappedBytes(offset: offset, count: size) { CRC32C.extend(0, $0) }
        guard computed == CRC32C.unmask(e.crc32C) else {
            throw TensorFlowError.tensorChecksumMismatch(file: file.path, tensor: name, stored: CRC32C.unmask(e.crc32C), computed: computed)
        }
        return (file, offset, size)
    }

    /// Tensor `name` after checking its crc32c: a zero-copy range of its data shard when
    /// saved whole, the reassembled tensor when saved in slices.
    public func tensor(_ name: String) throws -> TensorRef {
        let e = try entry(name)
        guard let dtype = Self.dtype(e.dtype.rawValue) else {
            throw TensorFlowError.malformedEntry(file: indexPath, key: name, reason: "dtype \(Self.dtypeName(e.dtype.rawValue)) is not a numeric tensor")
        }
        let shape = try shape(of: e, name: name)
        guard let count = shape.elementCount else {
            throw TensorFlowError.malformedEntry(file: indexPath, key: name, reason: "shape \(shape) overflows")
        }
        let (expectedBytes, o) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !o else { throw TensorFlowError.malformedEntry(file: indexPath, key: name, reason: "shape \(shape) overflows") }
        if !e.slices.isEmpty {
            let bytes = try reassemble(name: name, entry: e, dtype: dtype, shape: shape, byteCount: expectedBytes)
            return TensorRef(dtype: dtype, shape: shape, storage: .memory(bytes, label: "\(prefix):\(name)"), byteOrder: bigEndian ? .big : .little)
        }
        guard Int(e.size) == expectedBytes else {
            throw TensorFlowError.malformedEntry(file: indexPath, key: name, reason: "\(e.size) bytes stored, shape \(shape) of \(dtype.rawValue) needs \(expectedBytes)")
        }
        let (file, offset, size) = try verify(e, name: name)
        let storage = try TensorStorage.file(file, offset: offset, count: size, label: "\(file.path):\(name)")
        let ref = TensorRef(dtype: dtype, shape: shape, storage: storage, byteOrder: bigEndian ? .big : .little)
        try ref.validate(name: name)
        return ref
    }

    /// The elements of a string tensor (e.g. the object graph), after checking its crc32c.
    ///
    /// Layout: a varint64 length per element, a masked crc32c of the lengths, then the bytes.
    /// The entry's crc32c covers the lengths (as uint32), the length checksum and the bytes.
    public func strings(_ name: String) throws -> [[UInt8]] {
        let e = try entry(name)
        guard e.dtype.rawValue == 7 else {
            throw TensorFlowError.malformedEntry(file: indexPath, key: name, reason: "not a string tensor")
        }
        let shape = try shape(of: e, name: name)
        let count = shape.elementCount ?? 0
        let (file, offset, size) = try location(of: e, name: name)
        var r = ByteReader(try file.read(offset: offset, count: size), source: file.path, baseOffset: offset)
        func bad(_ reason: String) -> TensorFlowError { .malformedEntry(file: file.path, key: name, reason: reason) }
        guard count <= size else { throw bad("\(count) strings cannot fit in \(size) bytes") }
        var lengths: [Int] = []
        var crc: UInt32 = 0
        for _ in 0..<count {
            let length = try r.readVarint()
            guard length <= UInt64(size) else { throw bad("string of \(length) bytes in a \(size)-byte entry") }
            lengths.append(Int(length))
            // The lengths are checksummed as little-endian uint32 (uint64 only above 4 GiB).
            if length <= UInt64(UInt32.max) {
                withUnsafeBytes(of: UInt32(length).littleEndian) { crc = CRC32C.extend(crc, $0) }
            } else {
                withUnsafeBytes(of: length.littleEndian) { crc = CRC32C.extend(crc, $0) }
            }
        }
        let storedLengthCRC = try r.readLE(UInt32.self)
        guard storedLengthCRC == CRC32C.mask(crc) else {
            throw TensorFlowError.tensorChecksumMismatch(file: file.path, tensor: name, stored: CRC32C.unmask(storedLengthCRC), computed: crc)
        }
        withUnsafeBytes(of: storedLengthCRC.littleEndian) { crc = CRC32C.extend(crc, $0) }
        var out: [[UInt8]] = []
        for l in lengths {
            let s = Array(try r.readBytes(l))
            crc = CRC32C.extend(crc, s)
            out.append(s)
        }
        guard crc == CRC32C.unmask(e.crc32C) else {
            throw TensorFlowError.tensorChecksumMismatch(file: file.path, tensor: name, stored: CRC32C.unmask(e.crc32C), computed: crc)
        }
        return out
    }

    /// Copies every slice of a partitioned variable into place.
    func reassemble(name: String, entry e: Tensorflow_BundleEntryProto, dtype: DType, shape: Shape, byteCount: Int) throws -> [UInt8] {
        func bad(_ reason: String) -> TensorFlowError { .badSlices(file: indexPath, tensor: name, reason: reason) }
        let dims = shape.dims
        let size = dtype.byteSize
        var out = [UInt8](repeating: 0, count: byteCount)
        var covered = 0
        for slice in e.slices {
            guard slice.extent.count == dims.count else { throw bad("a slice has \(slice.extent.count) extents for rank \(dims.count)") }
            var starts: [Int] = [], lengths: [Int] = []
            for (d, ext) in slice.extent.enumerated() {
                let start = Int(ext.start)
                let length: Int
                if case let .length(l)? = ext.hasLength_p { length = Int(l) } else { length = dims[d] - start }
                guard start >= 0, length >= 0, start <= dims[d], length <= dims[d] - start else {
                    throw bad("slice extent \(start)+\(length) outside dimension \(d) of size \(dims[d])")
                }
                starts.append(start)
                lengths.append(length)
            }
            let key = Self.sliceKey(name: name, slice: slice)
            guard let se = entries[key] else { throw bad("slice \(zip(starts, lengths).map { "\($0):\($1)" }.joined(separator: ",")) is missing from the index") }
            let sliceShape = Shape(lengths)
            let sliceCount = sliceShape.elementCount ?? 0
            guard Int(se.size) == sliceCount * size else { throw bad("slice holds \(se.size) bytes, needs \(sliceCount * size)") }
            let bytes = try verifiedBytes(se, name: "\(name) (slice \(zip(starts, lengths).map { "\($0):\($1)" }.joined(separator: ",")))")
            covered += sliceCount
            if sliceCount == 0 { continue }
            if dims.isEmpty { out = bytes; continue }
            // Copy runs along the last axis.
            let fullStrides = shape.contiguousStrides
            let run = lengths[dims.count - 1] * size
            let outer = sliceCount / lengths[dims.count - 1]
            var index = [Int](repeating: 0, count: dims.count - 1)
            for row in 0..<outer {
                var dst = starts[dims.count - 1]
                for a in 0..<(dims.count - 1) { dst += (starts[a] + index[a]) * fullStrides[a] }
                let from = row * run, to = dst * size
                out.replaceSubrange(to..<(to + run), with: bytes[from..<(from + run)])
                var a = dims.count - 2
                while a >= 0 {
                    index[a] += 1
                    if index[a] < lengths[a] { break }
                    index[a] = 0
                    a -= 1
                }
            }
        }
        guard covered == shape.elementCount else { throw bad("slices cover \(covered) of \(shape.elementCount ?? 0) elements") }
        return out
    }

    // MARK: Slice keys (TensorFlow's ordered-code encoding of name + extents)

    static func sliceKey(name: String, slice: Tensorflow_TensorSliceProto) -> [UInt8] {
        var key: [UInt8] = []
        writeNumIncreasing(&key, 0)
        writeString(&key, Array(name.utf8))
        writeNumIncreasing(&key, UInt64(slice.extent.count))
        for ext in slice.extent {
            writeSignedNumIncreasing(&key, ext.start)
            if case let .length(l)? = ext.hasLength_p { writeSignedNumIncreasing(&key, l) } else { writeSignedNumIncreasing(&key, -1) }
        }
        return key
    }

    static func writeNumIncreasing(_ out: inout [UInt8], _ value: UInt64) {
        var bytes: [UInt8] = []
        var v = value
        while v > 0 { bytes.insert(UInt8(v & 0xFF), at: 0); v >>= 8 }
        out.append(UInt8(bytes.count))
        out += bytes
    }

    static func writeString(_ out: inout [UInt8], _ s: [UInt8]) {
        for b in s {
            switch b {
            case 0x00: out += [0x00, 0xFF]
            case 0xFF: out += [0xFF, 0x00]
            default: out.append(b)
            }
        }
        out += [0x00, 0x01]
    }

    static func writeSignedNumIncreasing(_ out: inout [UInt8], _ value: Int64) {
        let x = value < 0 ? UInt64(bitPattern: ~value) : UInt64(value)
        if x < 64 {
            out.append(0x80 ^ UInt8(truncatingIfNeeded: value))
            return
        }
        // Length n holds 7n-1 value bits (n header bits, one sign bit).
        var length = 2
        while length < 10 && x >= (UInt64(1) << UInt64(7 * length - 1)) { length += 1 }
        let header: [(UInt8, UInt8)] = [(0, 0), (0x80, 0), (0xC0, 0), (0xE0, 0), (0xF0, 0), (0xF8, 0), (0xFC, 0), (0xFE, 0), (0xFF, 0), (0xFF, 0x80), (0xFF, 0xC0)]
        let sign: UInt8 = value < 0 ? 0xFF : 0x00
        var buf = [sign, sign]
        let be = UInt64(bitPattern: value).bigEndian
        withUnsafeBytes(of: be) { buf += $0 }
        var enc = Array(buf[(10 - length)...])
        enc[0] ^= header[length].0
        enc[1] ^= header[length].1
        out += enc
    }
}
