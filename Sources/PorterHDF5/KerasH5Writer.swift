import CHDF5
import CHDF5Shim
import Foundation
import PorterCore

/// Writes the weights-file layout that tf-keras 2 `load_weights` and transformers' TF
/// `from_pretrained` accept: root attributes `layer_names`, `backend`, `keras_version`;
/// one group per layer with a `weight_names` attribute; each weight a dataset at
/// `<layer>/<weight name>`.
///
/// Tensor names must be `<layer>/<weight name>` (what `KerasH5Reader` produces, e.g.
/// `dense/dense/kernel:0`); layers keep the order of their first tensor. Name lists
/// longer than HDF5's 64 KiB object-header limit are split into `name0`, `name1`, … as
/// Keras does. Tensors that alias an earlier one become HDF5 hard links (stored once).
/// Memory stays bounded by the largest tensor.
public struct KerasH5Writer: ModelWriter {
    /// Keras' `HDF5_OBJECT_HEADER_LIMIT`: attributes at least this large are split.
    public static let objectHeaderLimit = 64512
    /// Written as `keras_version` unless the model carries a Keras 2 version.
    public static let defaultKerasVersion = "2.21.0"

    public init() {}

    public var info: FormatInfo {
        FormatInfo(id: "keras-h5", name: "Keras HDF5 weights", extensions: [".h5", "tf_model.h5"],
                   summary: "Keras 2 weights file (layer_names / weight_names), loadable by load_weights and transformers TF")
    }

    public func producesDirectory(for model: NeutralModel, options: WriteOptions) -> Bool { false }

    public func write(_ model: NeutralModel, to url: URL, options: WriteOptions) throws {
        let path = url.path
        // Group by layer, keeping first-appearance order; validate before creating anything.
        var layerOrder: [String] = []
        var weightsOf: [String: [(weightName: String, entry: TensorEntry)]] = [:]
        for entry in model.tensors {
            guard let slash = entry.name.firstIndex(of: "/"), slash != entry.name.startIndex,
                  entry.name.index(after: slash) != entry.name.endIndex else {
                throw HDF5Error.cannotWrite(file: path, tensor: entry.name, reason: "Keras weight names have the form <layer>/<weight name> (e.g. dense/dense/kernel:0); use a mapping to rename")
            }
            let layer = String(entry.name[..<slash])
            let weightName = String(entry.name[entry.name.index(after: slash)...])
            if weightsOf[layer] == nil { layerOrder.append(layer) }
            weightsOf[layer, default: []].append((weightName, entry))
            guard H5Writer.fileType(for: entry.tensor.dtype) != nil else {
                throw HDF5Error.cannotWrite(file: path, tensor: entry.name, reason: "dtype \(entry.tensor.dtype.rawValue) has no HDF5 type Keras reads")
            }
        }
        let writer = try H5Writer(path: path)
        let aliases = model.tensors.aliases()
        options.progress.begin("writing \(url.lastPathComponent)", totalUnits: Int64(model.tensors.uniqueByteCount))
        defer { options.progress.end() }
        let keras = model.metadata["keras_version"].flatMap { $0.hasPrefix("2.") ? $0 : nil } ?? Self.defaultKerasVersion
        try writer.writeScalarString("backend", model.metadata["backend"] ?? "tensorflow", on: "/")
        try writer.writeScalarString("keras_version", keras, on: "/")
        let listed = layerOrder.filter { $0 != "top_level_model_weights" }
        try writer.writeStringList("layer_names", listed, on: "/")
        for layer in layerOrder {
            try writer.createGroup(layer)
            let weights = weightsOf[layer] ?? []
            try writer.writeStringList("weight_names", weights.map(\.weightName), on: layer)
            for (weightName, entry) in weights {
                let datasetPath = layer + "/" + weightName
                if let target = aliases[entry.name] {
                    try writer.link(datasetPath, to: target)
                    continue
                }
                try writer.writeDataset(datasetPath, tensor: entry.tensor, name: entry.name)
                options.progress.advance(Int64(entry.tensor.byteCount))
            }
        }
        try writer.close()
    }
}

/// Creates an HDF5 file and writes groups, attributes and datasets into it.
final class H5Writer {
    let path: String
    private var file: H5Handle?
    private let lcpl: H5Handle

    init(path: String) throws {
        H5.prepare()
        self.path = path
        lcpl = try H5.handle(H5Pcreate(porter_h5p_link_create()), .propertyList, file: path, path: "/", "H5Pcreate")
        try H5.check(H5Pset_create_intermediate_group(lcpl.id, 1), file: path, path: "/", "H5Pset_create_intermediate_group")
        let id = H5Fcreate(path, porter_h5f_acc_trunc(), porter_h5p_default(), porter_h5p_default())
        guard id >= 0 else { throw HDF5Error.operationFailed(file: path, path: "/", operation: "H5Fcreate", detail: H5.errorText()) }
        file = H5Handle(id, .file)
    }

    private var fid: hid_t { file?.id ?? -1 }

    func close() throws {
        guard let f = file else { return }
        H5.prepare()
        try H5.check(H5Fflush(f.id, H5F_SCOPE_GLOBAL), file: path, path: "/", "H5Fflush")
        file = nil  // closes
    }

    /// The HDF5 file type Porter writes for a dtype (owned handle), or nil.
    static func fileType(for dtype: DType) -> H5Handle? {
        H5.prepare()
        let id: hid_t
        switch dtype {
        case .bool:
            // h5py's bool: enum over int8 with FALSE = 0, TRUE = 1.
            id = H5Tenum_create(porter_h5t_native_int8())
            if id >= 0 {
                var f: Int8 = 0, t: Int8 = 1
                H5Tenum_insert(id, "FALSE", &f)
                H5Tenum_insert(id, "TRUE", &t)
            }
        case .i8, .u8, .i16, .u16, .i32, .u32, .i64, .u64, .f32, .f64: id = H5.copyStandardLittleEndian(dtype)
        case .f16: id = porter_h5t_make_f16le()
        case .bf16: id = porter_h5t_make_bf16le()
        default: return nil
        }
        return id >= 0 ? H5Handle(id, .datatype) : nil
    }

    func createGroup(_ group: String) throws {
        H5.prepare()
        _ = try H5.handle(H5Gcreate2(fid, group, lcpl.id, porter_h5p_default(), porter_h5p_default()), .group, file: path, path: "/" + group, "H5Gcreate2")
    }

    func link(_ newPath: String, to existing: String) throws {
        H5.prepare()
        try H5.check(H5Lcreate_hard(fid, existing, fid, newPath, lcpl.id, porter_h5p_default()), file: path, path: "/" + newPath, "H5Lcreate_hard to /\(existing)")
    }

    func writeDataset(_ datasetPath: String, tensor: TensorRef, name: String) throws {
        H5.prepare()
        guard let ftype = Self.fileType(for: tensor.dtype) else {
            throw HDF5Error.cannotWrite(file: path, tensor: name, reason: "dtype \(tensor.dtype.rawValue)")
        }
        let space: H5Handle
        if tensor.shape.rank == 0 {
            space = try H5.handle(H5Screate(H5S_SCALAR), .dataspace, file: path, path: "/" + datasetPath, "H5Screate")
        } else {
            let dims = tensor.shape.dims.map { hsize_t($0) }
            space = try H5.handle(H5Screate_simple(Int32(dims.count), dims, nil), .dataspace, file: path, path: "/" + datasetPath, "H5Screate_simple")
        }
        let d = try H5.handle(H5Dcreate2(fid, datasetPath, ftype.id, space.id, lcpl.id, porter_h5p_default(), porter_h5p_default()),
                              .dataset, file: path, path: "/" + datasetPath, "H5Dcreate2")
        if tensor.elementCount == 0 { return }
        try tensor.withContiguousBytes { buf in
            try H5.check(H5Dwrite(d.id, ftype.id, porter_h5s_all(), porter_h5s_all(), porter_h5p_default(), buf.baseAddress),
                         file: path, path: "/" + datasetPath, "H5Dwrite")
        }
    }

    func writeScalarString(_ name: String, _ value: String, on object: String) throws {
        H5.prepare()
        let type = try H5.handle(H5Tcopy(porter_h5t_c_s1()), .datatype, file: path, path: object, "H5Tcopy")
        H5Tset_size(type.id, porter_h5t_variable())
        H5Tset_cset(type.id, H5T_CSET_UTF8)
        let space = try H5.handle(H5Screate(H5S_SCALAR), .dataspace, file: path, path: object, "H5Screate")
        let a = try H5.handle(H5Acreate_by_name(fid, object, name, type.id, space.id, porter_h5p_default(), porter_h5p_default(), porter_h5p_default()),
                              .attribute, file: path, path: object, "H5Acreate \(name)")
        try value.withCString { cstr in
            var ptr: UnsafePointer<CChar>? = cstr
            try H5.check(H5Awrite(a.id, type.id, &ptr), file: path, path: object, "H5Awrite \(name)")
        }
    }

    /// A list of names as Keras writes it: fixed-length byte strings (numpy `S`), split
    /// into `name0`, `name1`, … when the array reaches HDF5's object-header limit.
    func writeStringList(_ name: String, _ values: [String], on object: String) throws {
        let encoded = values.map { Array($0.utf8) }
        let itemSize = max(1, encoded.map(\.count).max() ?? 1)
        guard itemSize < KerasH5Writer.objectHeaderLimit else {
            throw HDF5Error.cannotWrite(file: path, tensor: object, reason: "a name of \(itemSize) bytes in \(name) exceeds HDF5's object-header limit")
        }
        if values.isEmpty {
            try writeRawAttribute(name, on: object, type: H5Tcopy(porter_h5t_ieee_f64le()), count: 0, bytes: [])
            return
        }
        var chunks = 1
        func parts(_ k: Int) -> [ArraySlice<[UInt8]>] {
            // numpy.array_split: the first n % k parts get one extra element.
            var out: [ArraySlice<[UInt8]>] = []
            var start = 0
            for i in 0..<k {
                let size = encoded.count / k + (i < encoded.count % k ? 1 : 0)
                out.append(encoded[start..<(start + size)])
                start += size
            }
            return out
        }
        while parts(chunks).contains(where: { $0.count * itemSize >= KerasH5Writer.objectHeaderLimit }) { chunks += 1 }
        let pieces = chunks == 1 ? [encoded[...]] : parts(chunks)
        for (i, piece) in pieces.enumerated() {
            var bytes = [UInt8](repeating: 0, count: piece.count * itemSize)
            for (j, s) in piece.enumerated() { bytes.replaceSubrange((j * itemSize)..<(j * itemSize + s.count), with: s) }
            H5.prepare()
            let type = H5Tcopy(porter_h5t_c_s1())
            if type >= 0 {
                H5Tset_size(type, itemSize)
                H5Tset_strpad(type, H5T_STR_NULLPAD)
            }
            try writeRawAttribute(chunks == 1 ? name : "\(name)\(i)", on: object, type: type, count: piece.count, bytes: bytes)
        }
    }

    private func writeRawAttribute(_ name: String, on object: String, type typeID: hid_t, count: Int, bytes: [UInt8]) throws {
        let type = try H5.handle(typeID, .datatype, file: path, path: object, "H5Tcopy")
        var dims = [hsize_t(count)]
        let space = try H5.handle(H5Screate_simple(1, &dims, nil), .dataspace, file: path, path: object, "H5Screate_simple")
        let a = try H5.handle(H5Acreate_by_name(fid, object, name, type.id, space.id, porter_h5p_default(), porter_h5p_default(), porter_h5p_default()),
                              .attribute, file: path, path: object, "H5Acreate \(name)")
        // libhdf5 wants a non-null buffer even for zero elements.
        let data = bytes.isEmpty ? [UInt8](repeating: 0, count: 8) : bytes
        try data.withUnsafeBytes { buf in
            try H5.check(H5Awrite(a.id, type.id, buf.baseAddress), file: path, path: object, "H5Awrite \(name)")
        }
    }
}
