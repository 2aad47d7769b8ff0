import CHDF5
import CHDF5Shim
import Foundation
import PorterCore

/// One HDF5 identifier, closed exactly once when the wrapper goes away: no code path can
/// leak a handle, including early returns and thrown errors.
final class H5Handle: @unchecked Sendable {
    enum Kind { case file, group, dataset, attribute, datatype, dataspace, propertyList, object }
    let id: hid_t
    let kind: Kind

    init(_ id: hid_t, _ kind: Kind) {
        self.id = id
        self.kind = kind
    }

    deinit {
        switch kind {
        case .file: H5Fclose(id)
        case .group: H5Gclose(id)
        case .dataset: H5Dclose(id)
        case .attribute: H5Aclose(id)
        case .datatype: H5Tclose(id)
        case .dataspace: H5Sclose(id)
        case .propertyList: H5Pclose(id)
        case .object: H5Oclose(id)
        }
    }
}

/// libhdf5 entry points with HDF5's automatic error printing switched off and its error
/// stack turned into `HDF5Error` text.
enum H5 {
    /// A copy of HDF5's standard little-endian type for an integer, f32 or f64 dtype
    /// (-1 for any other dtype, like a failed libhdf5 call).
    static func copyStandardLittleEndian(_ dtype: DType) -> hid_t {
        switch dtype {
        case .i8: return H5Tcopy(porter_h5t_std_i8le())
        case .u8: return H5Tcopy(porter_h5t_std_u8le())
        case .i16: return H5Tcopy(porter_h5t_std_i16le())
        case .u16: return H5Tcopy(porter_h5t_std_u16le())
        case .i32: return H5Tcopy(porter_h5t_std_i32le())
        case .u32: return H5Tcopy(porter_h5t_std_u32le())
        case .i64: return H5Tcopy(porter_h5t_std_i64le())
        case .u64: return H5Tcopy(porter_h5t_std_u64le())
        case .f32: return H5Tcopy(porter_h5t_ieee_f32le())
        case .f64: return H5Tcopy(porter_h5t_ieee_f64le())
        default: return -1
        }
    }

    /// Silences HDF5's stderr printing on this thread (the setting is per thread) and
    /// clears stale errors. Call before every sequence of libhdf5 calls.
    static func prepare() {
        porter_h5_silence_errors()
        H5Eclear2(porter_h5e_default())
        _ = pluginsOff
    }

    /// libhdf5's dynamic plugin loading, turned off once per process before any file is
    /// opened or created (every libhdf5 sequence starts with `prepare()`), so no filter
    /// library is ever loaded from HDF5_PLUGIN_PATH or the default plugin folder.
    static let pluginsOff: Bool = porter_h5_disable_plugins() >= 0 && porter_h5_plugin_loading_state() == 0

    /// Throws unless plugin loading is off.
    static func requirePluginsOff(file: String) throws {
        guard pluginsOff else {
            throw HDF5Error.operationFailed(file: file, path: "/", operation: "H5PLset_loading_state(0)", detail: errorText())
        }
    }

    /// The current thread's HDF5 error stack as one line (and clears it).
    static func errorText() -> String {
        var buf = [CChar](repeating: 0, count: 2048)
        let n = porter_h5_error_text(&buf, buf.count)
        let text = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return n == 0 ? "libhdf5 reported no detail" : text
    }

    /// Wraps a new id, or throws with HDF5's error stack when it is negative.
    static func handle(_ id: hid_t, _ kind: H5Handle.Kind, file: String, path: String, _ op: String) throws -> H5Handle {
        guard id >= 0 else { throw HDF5Error.operationFailed(file: file, path: path, operation: op, detail: errorText()) }
        return H5Handle(id, kind)
    }

    static func check(_ status: herr_t, file: String, path: String, _ op: String) throws {
        guard status >= 0 else { throw HDF5Error.operationFailed(file: file, path: path, operation: op, detail: errorText()) }
    }
}

/// Largest single dataset or attribute Porter reads into memory (16 GiB).
let maxDatasetBytes = 1 << 34
/// Largest attribute (Keras stores JSON and name lists there; 64 MiB is generous).
let maxAttributeBytes = 64 << 20

/// What an HDF5 element type is in Porter's terms.
struct H5ElementType {
    var dtype: DType
    /// True when the file type's bytes are little-endian (or single bytes).
    var littleEndian: Bool
}

/// An open HDF5 file (read-only), kept open while any lazy tensor reads from it.
final class H5File: @unchecked Sendable {
    let path: String
    let handle: H5Handle
    /// Set when the file is an on-disk file Porter may also read by byte ranges.
    let rawFile: OpenFile?

    /// Opens `path` read-only with the POSIX driver and libhdf5's plugin loading off, then
    /// walks the whole file once and throws the first hazard (`HDF5Hazards`: external
    /// storage, virtual datasets, external/user-defined/dangling links, filters that are not
    /// built in) before anything reads from it. Errors name `label` (default: `path`), so a
    /// file extracted from an archive is reported as the user's file and member.
    /// Throws `.notHDF5` when there is no superblock.
    init(path: String, label: String? = nil, checkHazards: Bool = true) throws {
        let name = label ?? path
        H5.prepare()
        try H5.requirePluginsOff(file: name)
        guard FileManager.default.fileExists(atPath: path) else { throw CoreError.cannotOpen(path: name, reason: "no such file") }
        let raw = try OpenFile(path: path)
        let isHDF5 = H5Fis_hdf5(path)
        if isHDF5 == 0 { throw HDF5Error.notHDF5(file: name) }
        // A nameless file opened as /proc/self/fd/N goes through the stdio driver (sec2 calls
        // realpath() on symbolic links, which fails for it); everything else through sec2.
        let anonymous = path.hasPrefix("/proc/self/fd/")
        let fapl = try H5.handle(anonymous ? porter_h5p_stdio_fapl() : porter_h5p_confined_fapl(), .propertyList,
                                 file: name, path: "/", anonymous ? "H5Pset_fapl_stdio" : "H5Pset_fapl_sec2")
        let id = H5Fopen(path, porter_h5f_acc_rdonly(), fapl.id)
        guard id >= 0 else { throw HDF5Error.cannotOpen(file: name, detail: H5.errorText()) }
        self.path = name
        self.handle = H5Handle(id, .file)
        self.rawFile = raw
        if checkHazards { try HDF5Hazards.refuse(self) }
    }

    /// Opens an HDF5 image held in memory (an entry of a `.keras` archive) via the core driver.
    init(image: [UInt8], label: String) throws {
        H5.prepare()
        try H5.requirePluginsOff(file: label)
        let fapl = try H5.handle(H5Pcreate(porter_h5p_file_access()), .propertyList, file: label, path: "/", "H5Pcreate")
        try H5.check(H5Pset_fapl_core(fapl.id, 1 << 20, false), file: label, path: "/", "H5Pset_fapl_core")
        try image.withUnsafeBytes { buf in
            try H5.check(H5Pset_file_image(fapl.id, UnsafeMutableRawPointer(mutating: buf.baseAddress), buf.count), file: label, path: "/", "H5Pset_file_image")
        }
        let id = H5Fopen(label, porter_h5f_acc_rdonly(), fapl.id)
        guard id >= 0 else { throw HDF5Error.cannotOpen(file: label, detail: H5.errorText()) }
        self.path = label
        self.handle = H5Handle(id, .file)
        self.rawFile = nil
        try HDF5Hazards.refuse(self)
    }

    /// Ids open on this file (the file's own included): 1 when nothing leaked.
    var openObjectCount: Int { Int(porter_h5f_open_object_count(handle.id)) }

    // MARK: objects

    /// True when every component of `path` (relative to the root, `/`-separated) exists.
    func exists(_ path: String) -> Bool {
        H5.prepare()
        var prefix = ""
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += (prefix.isEmpty ? "" : "/") + part
            if H5Lexists(handle.id, prefix, porter_h5p_default()) <= 0 { return false }
        }
        return true
    }

    /// Opens a group or dataset by path.
    func open(_ path: String) throws -> H5Handle {
        let p = path.isEmpty ? "/" : path
        guard p == "/" || exists(p) else { throw HDF5Error.missingObject(file: self.path, path: display(p)) }
        H5.prepare()
        return try H5.handle(H5Oopen(handle.id, p, porter_h5p_default()), .object, file: self.path, path: display(p), "H5Oopen")
    }

    func isDataset(_ path: String) -> Bool {
        guard let h = try? open(path) else { return false }
        return H5Iget_type(h.id) == H5I_DATASET
    }

    func isGroup(_ path: String) -> Bool {
        guard let h = try? open(path) else { return false }
        return H5Iget_type(h.id) == H5I_GROUP
    }

    /// Names of a group's members, in name order.
    func members(of path: String) throws -> [String] {
        let g = try open(path)
        var info = H5G_info_t()
        try H5.check(H5Gget_info(g.id, &info), file: self.path, path: display(path), "H5Gget_info")
        var names: [String] = []
        for i in 0..<info.nlinks {
            let n = H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, porter_h5p_default())
            guard n >= 0 else { throw HDF5Error.operationFailed(file: self.path, path: display(path), operation: "H5Lget_name_by_idx", detail: H5.errorText()) }
            var buf = [CChar](repeating: 0, count: Int(n) + 1)
            _ = H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count, porter_h5p_default())
            names.append(buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        return names
    }

    /// Most objects a tree walk visits (a crafted file can make a small file look huge).
    static let maxWalkObjects = 1_000_000
    /// Deepest group nesting a walk follows.
    static let maxWalkDepth = 64

    /// Every dataset under `path`, depth first in name order, as paths relative to `path`.
    /// Each group is entered once (hard links can make cycles), depth and object count are capped.
    func datasets(under path: String) throws -> [String] {
        var out: [String] = []
        var visited = Set<UInt>()
        var count = 0
        try walk(path, prefix: "", depth: 0, visited: &visited, count: &count, into: &out)
        return out
    }

    private func walk(_ path: String, prefix: String, depth: Int, visited: inout Set<UInt>, count: inout Int, into out: inout [String]) throws {
        guard depth < Self.maxWalkDepth else {
            throw HDF5Error.operationFailed(file: self.path, path: display(path), operation: "walking groups", detail: "groups nest deeper than \(Self.maxWalkDepth) levels")
        }
        let g = try open(path)
        var info = H5O_info_t()
        if H5Oget_info2(g.id, &info, H5O_INFO_BASIC) >= 0 {
            guard visited.insert(info.addr).inserted else { return }  // a hard-link cycle or a group seen before
        }
        for name in try members(of: path) {
            count += 1
            guard count <= Self.maxWalkObjects else {
                throw HDF5Error.tooLarge(file: self.path, path: display(path), bytes: count, limit: Self.maxWalkObjects)
            }
            let full = path.isEmpty || path == "/" ? name : path + "/" + name
            let rel = prefix.isEmpty ? name : prefix + "/" + name
            let h = try open(full)
            switch H5Iget_type(h.id) {
            case H5I_DATASET: out.append(rel)
            case H5I_GROUP: try walk(full, prefix: rel, depth: depth + 1, visited: &visited, count: &count, into: &out)
            default: continue
            }
        }
    }

    func display(_ path: String) -> String { path.hasPrefix("/") ? path : "/" + path }

    // MARK: attributes

    func hasAttribute(_ name: String, on path: String) throws -> Bool {
        let o = try open(path)
        try checkAttributeMessages(of: o, path: path)
        H5.prepare()
        return H5Aexists(o.id, name) > 0
    }

    /// Names of the attributes on an object.
    func attributeNames(on path: String) throws -> [String] {
        let o = try open(path)
        try checkAttributeMessages(of: o, path: path)
        H5.prepare()
        var names: [String] = []
        var i: hsize_t = 0
        while true {
            let n = H5Aget_name_by_idx(o.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, porter_h5p_default())
            if n < 0 { H5Eclear2(porter_h5e_default()); break }
            var buf = [CChar](repeating: 0, count: Int(n) + 1)
            _ = H5Aget_name_by_idx(o.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count, porter_h5p_default())
            names.append(buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
            i += 1
        }
        return names
    }

    /// A string attribute, or a list of strings: fixed- or variable-length, scalar or 1-D.
    /// An empty numeric array (how h5py stores `[]`) reads as no strings.
    func stringsAttribute(_ name: String, on path: String) throws -> [String] {
        let o = try open(path)
        try checkAttributeMessages(of: o, path: path)
        H5.prepare()
        guard H5Aexists(o.id, name) > 0 else { throw HDF5Error.missingAttribute(file: self.path, path: display(path), attribute: name) }
        let a = try H5.handle(H5Aopen(o.id, name, porter_h5p_default()), .attribute, file: self.path, path: display(path), "H5Aopen \(name)")
        let ftype = try H5.handle(H5Aget_type(a.id), .datatype, file: self.path, path: display(path), "H5Aget_type")
        let space = try H5.handle(H5Aget_space(a.id), .dataspace, file: self.path, path: display(path), "H5Aget_space")
        let count = H5Sget_simple_extent_npoints(space.id)
        guard count >= 0, count <= 10_000_000 else {
            throw HDF5Error.badAttribute(file: self.path, path: display(path), attribute: name, reason: "has \(count) elements")
        }
        let n = Int(count)
        let cls = H5Tget_class(ftype.id)
        if cls != H5T_STRING {
            if n == 0 { return [] }
            throw HDF5Error.badAttribute(file: self.path, path: display(path), attribute: name, reason: "holds \(typeDescription(ftype.id)), not strings")
        }
        if n == 0 { return [] }
        if H5Tis_variable_str(ftype.id) > 0 {
            // libhdf5 trusts the on-disk heap references; check them first (see H5GlobalHeapCheck).
            try checkVariableLengthStrings(attribute: a, count: n, name: name, on: path)
            let mtype = try H5.handle(H5Tcopy(porter_h5t_c_s1()), .datatype, file: self.path, path: display(path), "H5Tcopy")
            H5Tset_size(mtype.id, porter_h5t_variable())
            H5Tset_cset(mtype.id, H5Tget_cset(ftype.id))
            var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
            try H5.check(H5Aread(a.id, mtype.id, &ptrs), file: self.path, path: display(path), "H5Aread \(name)")
            defer {
                for p in ptrs { if let p { H5free_memory(p) } }
            }
            var total = 0
            var out: [String] = []
            for p in ptrs {
                guard let p else { out.append(""); continue }
                let s = String(cString: p)
                total += s.utf8.count
                guard total <= maxAttributeBytes else {
                    throw HDF5Error.tooLarge(file: self.path, path: display(path) + "@" + name, bytes: total, limit: maxAttributeBytes)
                }
                out.append(s)
            }
            return out
        }
        let size = H5Tget_size(ftype.id)
        let (bytes, overflow) = n.multipliedReportingOverflow(by: Int(size))
        guard size > 0, !overflow, bytes <= maxAttributeBytes else {
            throw HDF5Error.tooLarge(file: self.path, path: display(path) + "@" + name, bytes: overflow ? Int.max : bytes, limit: maxAttributeBytes)
        }
        var raw = [UInt8](repeating: 0, count: bytes)
        try H5.check(H5Aread(a.id, ftype.id, &raw), file: self.path, path: display(path), "H5Aread \(name)")
        var out: [String] = []
        for i in 0..<n {
            var piece = raw[(i * Int(size))..<((i + 1) * Int(size))]
            if let z = piece.firstIndex(of: 0) { piece = piece[piece.startIndex..<z] }
            while let last = piece.last, last == 0x20, H5Tget_strpad(ftype.id) == H5T_STR_SPACEPAD { piece = piece.dropLast() }
            out.append(String(decoding: piece, as: UTF8.self))
        }
        return out
    }

    /// Reads a Keras list attribute that may be split into `name0`, `name1`, … when it
    /// outgrew HDF5's 64 KiB object-header limit; the chunks are concatenated in order.
    /// Returns nil when neither `name` nor `name0` exists.
    func kerasListAttribute(_ name: String, on path: String) throws -> [String]? {
        if try hasAttribute(name, on: path) { return try stringsAttribute(name, on: path) }
        var out: [String] = []
        var i = 0
        while try hasAttribute("\(name)\(i)", on: path) {
            out += try stringsAttribute("\(name)\(i)", on: path)
            i += 1
        }
        return i == 0 ? nil : out
    }

    /// A single string attribute (the first element of a string list attribute).
    func stringAttribute(_ name: String, on path: String) throws -> String? {
        guard try hasAttribute(name, on: path) else { return nil }
        let values = try stringsAttribute(name, on: path)
        guard values.count == 1 else {
            throw HDF5Error.badAttribute(file: self.path, path: display(path), attribute: name, reason: "holds \(values.count) strings, expected one")
        }
        return values[0]
    }

    // MARK: datasets

    /// Porter dtype of an HDF5 type, or nil.
    func elementType(_ type: hid_t) -> H5ElementType? {
        let size = H5Tget_size(type)
        let le = H5Tget_order(type) != H5T_ORDER_BE
        switch H5Tget_class(type) {
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) == H5T_SGN_2
            let table: [Int: (DType, DType)] = [1: (.i8, .u8), 2: (.i16, .u16), 4: (.i32, .u32), 8: (.i64, .u64)]
            guard let pair = table[size] else { return nil }
            return H5ElementType(dtype: signed ? pair.0 : pair.1, littleEndian: le || size == 1)
        case H5T_FLOAT:
            var spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0
            guard H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) >= 0 else { return nil }
            switch (size, esize, msize) {
            case (2, 5, 10): return H5ElementType(dtype: .f16, littleEndian: le)
            case (2, 8, 7): return H5ElementType(dtype: .bf16, littleEndian: le)
            case (4, 8, 23): return H5ElementType(dtype: .f32, littleEndian: le)
            case (8, 11, 52): return H5ElementType(dtype: .f64, littleEndian: le)
            default: return nil
            }
        case H5T_ENUM:
            // h5py's bool: an enum over a 1-byte integer with FALSE = 0 and TRUE = 1.
            guard size == 1, H5Tget_nmembers(type) == 2 else { return nil }
            var members: [String: Int8] = [:]
            for i in 0..<2 {
                guard let cname = H5Tget_member_name(type, UInt32(i)) else { return nil }
                let name = String(cString: cname)
                H5free_memory(cname)
                var v: Int8 = 0
                guard H5Tget_member_value(type, UInt32(i), &v) >= 0 else { return nil }
                members[name] = v
            }
            guard members == ["FALSE": 0, "TRUE": 1] else { return nil }
            return H5ElementType(dtype: .bool, littleEndian: true)
        default:
            return nil
        }
    }

    func typeDescription(_ type: hid_t) -> String {
        let names: [H5T_class_t: String] = [H5T_INTEGER: "integer", H5T_FLOAT: "float", H5T_STRING: "string", H5T_BITFIELD: "bitfield",
                                            H5T_OPAQUE: "opaque", H5T_COMPOUND: "compound", H5T_REFERENCE: "reference",
                                            H5T_ENUM: "enum", H5T_VLEN: "variable-length", H5T_ARRAY: "array"]
        let cls = H5Tget_class(type)
        return "\(names[cls] ?? "class \(cls.rawValue)") of \(H5Tget_size(type)) bytes"
    }

    /// The little-endian memory type libhdf5 converts a dataset into (exact, no rounding):
    /// the caller owns the returned handle.
    func memoryType(for dtype: DType, fileType: hid_t, path: String) throws -> H5Handle {
        let id: hid_t
        switch dtype {
        case .bool: id = H5Tcopy(fileType)
        case .i8, .u8, .i16, .u16, .i32, .u32, .i64, .u64, .f32, .f64: id = H5.copyStandardLittleEndian(dtype)
        case .f16, .bf16:
            // Same layout as the file type, little-endian: a byte-order-only conversion.
            id = H5Tcopy(fileType)
            if id >= 0 { H5Tset_order(id, H5T_ORDER_LE) }
        default:
            throw HDF5Error.unsupportedType(file: self.path, path: display(path), type: dtype.rawValue)
        }
        return try H5.handle(id, .datatype, file: self.path, path: display(path), "H5Tcopy")
    }

    /// Describes a dataset: dtype, shape, and — when its bytes sit uncompressed and
    /// contiguous in the on-disk file — their byte offset.
    func describeDataset(_ path: String) throws -> (dtype: DType, littleEndian: Bool, shape: Shape, fileOffset: Int?) {
        let d = try open(path)
        guard H5Iget_type(d.id) == H5I_DATASET else { throw HDF5Error.missingObject(file: self.path, path: display(path) + " (a group, not a dataset)") }
        H5.prepare()
        let ftype = try H5.handle(H5Dget_type(d.id), .datatype, file: self.path, path: display(path), "H5Dget_type")
        guard let et = elementType(ftype.id) else {
            throw HDF5Error.unsupportedType(file: self.path, path: display(path), type: typeDescription(ftype.id))
        }
        let space = try H5.handle(H5Dget_space(d.id), .dataspace, file: self.path, path: display(path), "H5Dget_space")
        guard H5Sget_simple_extent_type(space.id) != H5S_NULL else {
            throw HDF5Error.unsupportedType(file: self.path, path: display(path), type: "an empty (null) dataspace, which holds no tensor")
        }
        let rank = H5Sget_simple_extent_ndims(space.id)
        guard rank >= 0, rank <= 32 else {
            throw HDF5Error.operationFailed(file: self.path, path: display(path), operation: "H5Sget_simple_extent_ndims", detail: "rank \(rank)")
        }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        if rank > 0 {
            try H5.check(H5Sget_simple_extent_dims(space.id, &dims, nil), file: self.path, path: display(path), "H5Sget_simple_extent_dims")
        }
        let shape = Shape(try dims.map { try Int.checked($0, source: self.path, what: "dimension of \(display(path))") })
        guard let count = shape.elementCount else { throw CoreError.sizeOverflow(source: self.path, what: "shape \(shape) of \(display(path))") }
        let (bytes, o) = count.multipliedReportingOverflow(by: et.dtype.byteSize)
        guard !o, bytes <= maxDatasetBytes else {
            throw HDF5Error.tooLarge(file: self.path, path: display(path), bytes: o ? Int.max : bytes, limit: maxDatasetBytes)
        }
        var offset: Int?
        if rawFile != nil, bytes > 0 {
            let dcpl = try H5.handle(H5Dget_create_plist(d.id), .propertyList, file: self.path, path: display(path), "H5Dget_create_plist")
            if H5Pget_layout(dcpl.id) == H5D_CONTIGUOUS, H5Pget_nfilters(dcpl.id) == 0 {
                let addr = H5Dget_offset(d.id)
                H5Eclear2(porter_h5e_default())
                if addr != UInt64.max, let a = Int(exactly: addr), H5Tget_size(ftype.id) == et.dtype.byteSize {
                    offset = a
                }
            }
        }
        return (et.dtype, et.littleEndian, shape, offset)
    }

    /// Reads a whole dataset as contiguous little-endian bytes (libhdf5 decompresses
    /// chunks and converts byte order).
    func readDataset(_ path: String) throws -> [UInt8] {
        let info = try describeDataset(path)
        let d = try open(path)
        H5.prepare()
        let ftype = try H5.handle(H5Dget_type(d.id), .datatype, file: self.path, path: display(path), "H5Dget_type")
        let mtype = try memoryType(for: info.dtype, fileType: ftype.id, path: path)
        let count = info.shape.elementCount ?? 0
        var out = [UInt8](repeating: 0, count: count * info.dtype.byteSize)
        if count == 0 { return out }
        try out.withUnsafeMutableBytes { buf in
            try H5.check(H5Dread(d.id, mtype.id, porter_h5s_all(), porter_h5s_all(), porter_h5p_default(), buf.baseAddress),
                         file: self.path, path: display(path), "H5Dread")
        }
        return out
    }

    /// A lazy tensor over a dataset: a file byte range when the bytes sit there as-is,
    /// else read (and decompressed) by libhdf5 on first use.
    func tensor(_ path: String) throws -> TensorRef {
        let info = try describeDataset(path)
        let label = "\(self.path):\(display(path))"
        let byteCount = (info.shape.elementCount ?? 0) * info.dtype.byteSize
        if let offset = info.fileOffset, let raw = rawFile {
            let storage = try TensorStorage.file(raw, offset: offset, count: byteCount, label: label)
            return TensorRef(dtype: info.dtype, shape: info.shape, storage: storage, byteOrder: info.littleEndian ? .little : .big)
        }
        let storage = TensorStorage(byteCount: byteCount, backing: .deferred { [self] in try self.readDataset(path) }, label: label)
        return TensorRef(dtype: info.dtype, shape: info.shape, storage: storage)
    }
}
