import CHDF5
import CHDF5Shim
import Foundation
import PorterCore

/// Writes a Keras HDF5 file in the layout its name asks for, as Keras itself picks the
/// loader by name (`KerasLayout.forFileName`):
///
/// - `NAME.weights.h5` — the Keras 3 weights layout (`model.load_weights` in Keras 3):
///   `layers/<class_snake>[/<sublayer>]/vars/<i>` datasets, each `vars` group with the
///   layer's `name` attribute, an empty root `vars`. Group names come from the layer classes
///   of the model's Keras config (Keras 3 names them by class, `dense`, `dense_1`, …), so a
///   model without one is refused with a reason.
/// - any other name (`NAME.h5`, `tf_model.h5`) — the legacy layout that tf-keras 2 and
///   Keras 3's legacy loader read. When the model carries a Keras model config (it was read
///   from a Keras `.h5` or `.keras`), the full-model layout `model.save("x.h5")` writes:
///   root attributes `model_config` (the source's config, unchanged), `keras_version`,
///   `backend`, and the weights under `model_weights` — so `load_model` works. Without
///   one, the weights-only layout of `save_weights` (root `layer_names`), which
///   `load_weights` and transformers' TF `from_pretrained` accept.
///
/// Tensor names are Porter's Keras names: `<layer>/<weight name>` (tf-keras files,
/// `dense/dense/kernel:0`) or the Keras 3 dataset paths (`layers/dense/vars/0`); either is
/// written in either layout. Legacy name lists longer than HDF5's 64 KiB object-header
/// limit are split into `name0`, `name1`, … as Keras does. Tensors that alias an earlier
/// one become HDF5 hard links (stored once). Memory stays bounded by the largest tensor.
public struct KerasH5Writer: ModelWriter {
    /// Keras' `HDF5_OBJECT_HEADER_LIMIT`: attributes at least this large are split.
    public static let objectHeaderLimit = 64512
    /// Written as `keras_version` unless the model carries a Keras 2 version.
    public static let defaultKerasVersion = "2.21.0"

    public init() {}

    public var info: FormatInfo {
        FormatInfo(id: "keras-h5", name: "Keras HDF5", extensions: [".h5", ".weights.h5", "tf_model.h5"],
                   summary: "NAME.h5: legacy Keras file (full model with model_config when the source is Keras, else save_weights layout); NAME.weights.h5: Keras 3 weights layout")
    }

    public func producesDirectory(for model: NeutralModel, options: WriteOptions) -> Bool { false }

    public func write(_ model: NeutralModel, to url: URL, options: WriteOptions) throws {
        let path = url.path
        for entry in model.tensors where H5Writer.fileType(for: entry.tensor.dtype) == nil {
            throw HDF5Error.cannotWrite(file: path, tensor: entry.name, reason: "dtype \(entry.tensor.dtype.rawValue) has no HDF5 type Keras reads")
        }
        let keras = KerasModelLayers(model.config)
        let names = try KerasWeightNames(model.tensors.map(\.name), file: path)
        switch KerasLayout.forFileName(url.lastPathComponent) {
        case .keras3Weights:
            guard let keras else {
                // Named by its file name: `url` lies in the pipeline's staging folder.
                throw HDF5Error.cannotWrite(file: url.lastPathComponent, tensor: model.tensors.names.first ?? "",
                                            reason: "the Keras 3 weights layout (NAME.weights.h5) names each layer's group after its class, which only a Keras model config tells, and this model carries none; write NAME.h5 (legacy layout) instead")
            }
            try writeKeras3(model, names: names, keras: keras, path: path, options: options)
        case .legacy:
            try writeLegacy(model, names: names, keras: keras, path: path, options: options)
        }
    }

    // MARK: legacy (tf-keras 2) layout

    private func writeLegacy(_ model: NeutralModel, names: KerasWeightNames, keras: KerasModelLayers?, path: String, options: WriteOptions) throws {
        let layers = try names.legacyLayers(keras: keras, file: path)
        let writer = try H5Writer(path: path)
        let aliases = model.tensors.aliases()
        let byName = Dictionary(model.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        options.progress.begin("writing \((path as NSString).lastPathComponent)", totalUnits: Int64(model.tensors.uniqueByteCount))
        defer { options.progress.end() }
        let source = model.metadata["keras_version"]
        let version: String
        if let keras, keras.isKeras3 { version = source ?? "3.0.0" } else { version = source.flatMap { $0.hasPrefix("2.") ? $0 : nil } ?? Self.defaultKerasVersion }
        let backend = model.metadata["backend"] ?? "tensorflow"
        var root = ""
        if let keras {
            // The full-model layout of `model.save("x.h5")`: load_model reads model_config, then model_weights.
            let text = String(decoding: try keras.config.encoded(pretty: false), as: UTF8.self)
            try writer.writeScalarString("model_config", text, on: "/")
            try writer.writeScalarString("keras_version", version, on: "/")
            try writer.writeScalarString("backend", backend, on: "/")
            root = "model_weights"
            try writer.createGroup(root)
        }
        let attrsOn = root.isEmpty ? "/" : root
        try writer.writeScalarString("backend", backend, on: attrsOn)
        try writer.writeScalarString("keras_version", version, on: attrsOn)
        try writer.writeStringList("layer_names", layers.map(\.layer).filter { $0 != "top_level_model_weights" }, on: attrsOn)
        // Where each tensor went, for hard links to aliases.
        var written: [String: String] = [:]
        for (layer, weights) in layers {
            let group = root.isEmpty ? layer : root + "/" + layer
            try writer.createGroup(group)
            try writer.writeStringList("weight_names", weights.map(\.weightName), on: group)
            for (weightName, tensorName) in weights {
                guard let entry = byName[tensorName] else { continue }
                let datasetPath = group + "/" + weightName
                written[tensorName] = datasetPath
                if let target = aliases[tensorName], let targetPath = written[target] {
                    try writer.link(datasetPath, to: targetPath)
                    continue
                }
                try writer.writeDataset(datasetPath, tensor: entry.tensor, name: entry.name)
                options.progress.advance(Int64(entry.tensor.byteCount))
            }
        }
        try writer.close()
    }

    // MARK: Keras 3 layout

    private func writeKeras3(_ model: NeutralModel, names: KerasWeightNames, keras: KerasModelLayers, path: String, options: WriteOptions) throws {
        let placed = try names.keras3Paths(keras: keras, file: path)
        let writer = try H5Writer(path: path)
        let aliases = model.tensors.aliases()
        options.progress.begin("writing \((path as NSString).lastPathComponent)", totalUnits: Int64(model.tensors.uniqueByteCount))
        defer { options.progress.end() }
        // Every `vars` group Keras writes, weightless layers' too, each named after its layer.
        try writer.createGroup("vars")
        try writer.writeScalarString("name", keras.modelName, on: "vars")
        try writer.createGroup("layers")
        for layer in keras.saved {
            for sub in KerasModelLayers.sublayers(of: layer.className, config: layer.config) {
                let group = "layers/" + layer.group + (sub.isEmpty ? "" : "/" + sub) + "/vars"
                try writer.createGroup(group)
                try writer.writeScalarString("name", sub.isEmpty ? layer.name : layer.name + "/" + sub, on: group)
            }
        }
        var written: [String: String] = [:]
        for entry in model.tensors {
            guard let datasetPath = placed[entry.name] else { continue }
            written[entry.name] = datasetPath
            if let target = aliases[entry.name], let targetPath = written[target] {
                try writer.link(datasetPath, to: targetPath)
                continue
            }
            try writer.writeDataset(datasetPath, tensor: entry.tensor, name: entry.name)
            options.progress.advance(Int64(entry.tensor.byteCount))
        }
        try writer.close()
    }
}

/// The two HDF5 layouts Keras reads, chosen by file name as Keras' `load_weights` does.
public enum KerasLayout: String, Sendable {
    /// `NAME.weights.h5`: Keras 3 `saving_lib` layout.
    case keras3Weights = "keras3-weights"
    /// Any other `.h5`: the tf-keras 2 / Keras 3 legacy `h5` layout.
    case legacy = "legacy-h5"

    public static func forFileName(_ name: String) -> KerasLayout {
        name.lowercased().hasSuffix(".weights.h5") ? .keras3Weights : .legacy
    }
}

/// The layers of a Keras model config (`{"class_name": "Sequential"|"Functional"|"Model", …}`,
/// tf-keras or Keras 3), in config order, with the group name Keras 3 gives each.
struct KerasModelLayers {
    struct Layer {
        let name: String
        let className: String
        let config: JSONValue
        /// `layers/<group>` in the Keras 3 weights layout.
        let group: String
    }

    let config: JSONValue
    let modelName: String
    let isKeras3: Bool
    /// Every layer of the config.
    let all: [Layer]
    /// The layers Keras 3 saves under `layers/` (a Sequential model's InputLayer is not one).
    let saved: [Layer]

    init?(_ config: JSONValue) {
        guard let cls = config["class_name"]?.stringValue, ["Sequential", "Functional", "Model"].contains(cls),
              let layers = config["config"]?["layers"]?.arrayValue else { return nil }
        self.config = config
        modelName = config["config"]?["name"]?.stringValue ?? "model"
        // Keras 3 configs carry "module" on every object; tf-keras 2 configs never do.
        isKeras3 = config["module"] != nil || layers.contains { $0["module"] != nil }
        var all: [Layer] = []
        var saved: [Layer] = []
        var used: [String: Int] = [:]
        for (i, layer) in layers.enumerated() {
            let lcls = layer["class_name"]?.stringValue ?? "Layer"
            let lcfg = layer["config"] ?? [:]
            let name = layer["name"]?.stringValue ?? lcfg["name"]?.stringValue ?? "layer_\(i)"
            let isSavedInput = !(cls == "Sequential" && lcls == "InputLayer")
            var group = ""
            if isSavedInput {
                // saving_lib: naming.to_snake_case(class name), then _1, _2, … for repeats.
                let snake = Self.snakeCase(lcls)
                if let n = used[snake] { used[snake] = n + 1; group = "\(snake)_\(n + 1)" } else { used[snake] = 0; group = snake }
            }
            let entry = Layer(name: name, className: lcls, config: lcfg, group: group)
            all.append(entry)
            if isSavedInput { saved.append(entry) }
        }
        self.all = all
        self.saved = saved
    }

    /// Keras' `naming.to_snake_case`.
    static func snakeCase(_ name: String) -> String {
        let chars = Array(name.filter { $0.isLetter || $0.isNumber || $0 == "_" })
        var out = ""
        for (i, c) in chars.enumerated() {
            if i > 0, c.isUppercase {
                let prev = chars[i - 1]
                let nextLower = i + 1 < chars.count && chars[i + 1].isLowercase
                // "(.)([A-Z][a-z]+)" and "([a-z])([A-Z])".
                if (nextLower && prev != "_") || prev.isLowercase { if !out.hasSuffix("_") { out.append("_") } }
            }
            out.append(c)
        }
        return out.lowercased()
    }

    /// Where a layer keeps its variables in the Keras 3 layout, in `layer.weights` order
    /// (`""` = the layer's own `vars`).
    static func sublayers(of className: String, config: JSONValue) -> [String] {
        switch className {
        case "LSTM", "GRU", "SimpleRNN": return ["cell"]
        case "Bidirectional": return ["forward_layer/cell", "backward_layer/cell"]
        case "TimeDistributed": return ["layer"]
        case "MultiHeadAttention": return ["query_dense", "key_dense", "value_dense", "output_dense"]
        default: return [""]
        }
    }
}

/// Porter's Keras tensor names, parsed: tf-keras `<layer>/<weight name>` or Keras 3
/// `layers/<group>[/<sublayer>]/vars/<i>`.
struct KerasWeightNames {
    enum Style { case keras2, keras3 }
    let names: [String]
    let style: Style

    init(_ names: [String], file: String) throws {
        self.names = names
        if !names.isEmpty, names.allSatisfy(Self.isKeras3Path) {
            style = .keras3
            return
        }
        style = .keras2
        for name in names {
            guard let slash = name.firstIndex(of: "/"), slash != name.startIndex, name.index(after: slash) != name.endIndex else {
                throw HDF5Error.cannotWrite(file: file, tensor: name, reason: "Keras weight names have the form <layer>/<weight name> (e.g. dense/dense/kernel:0) or layers/<layer>/vars/<i>; use a mapping to rename")
            }
        }
    }

    /// `vars/<i>` or `layers/…/vars/<i>`.
    static func isKeras3Path(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[parts.count - 2] == "vars", Int(parts[parts.count - 1]) != nil else { return false }
        return parts.count == 2 || (parts.count >= 4 && parts[0] == "layers")
    }

    /// Keras 3 path → (group, sublayer path, var index).
    private static func splitKeras3(_ name: String) -> (group: String, sub: String, index: Int) {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let index = Int(parts[parts.count - 1]) ?? 0
        guard parts.count >= 4 else { return ("", "", index) }
        return (parts[1], parts[2..<(parts.count - 2)].joined(separator: "/"), index)
    }

    /// Layers in load order, each with its `weight_names` and the tensor written there.
    func legacyLayers(keras: KerasModelLayers?, file: String) throws -> [(layer: String, weights: [(weightName: String, tensor: String)])] {
        switch style {
        case .keras2:
            var order: [String] = []
            var byLayer: [String: [(String, String)]] = [:]
            for name in names {
                let slash = name.firstIndex(of: "/")!
                let layer = String(name[..<slash])
                if byLayer[layer] == nil { order.append(layer) }
                byLayer[layer, default: []].append((String(name[name.index(after: slash)...]), name))
            }
            return order.map { ($0, byLayer[$0] ?? []) }
        case .keras3:
            // Group by layer; order layers as the config lists them (legacy loading is by
            // position) and each layer's variables as `layer.weights` does.
            let layerOf = Dictionary((keras?.saved ?? []).map { ($0.group, $0) }, uniquingKeysWith: { a, _ in a })
            var groups: [String] = []
            var members: [String: [String]] = [:]
            for name in names {
                let g = Self.splitKeras3(name).group
                if members[g] == nil { groups.append(g) }
                members[g, default: []].append(name)
            }
            if let keras {
                let rank = Dictionary(keras.saved.enumerated().map { ($1.group, $0) }, uniquingKeysWith: { a, _ in a })
                groups.sort { (rank[$0] ?? Int.max, $0) < (rank[$1] ?? Int.max, $1) }
            }
            return groups.map { g in
                let info = layerOf[g]
                let layerName = g.isEmpty ? "top_level_model_weights" : info?.name ?? g
                let subs = info.map { KerasModelLayers.sublayers(of: $0.className, config: $0.config) } ?? [""]
                let sorted = (members[g] ?? []).sorted { a, b in
                    let (x, y) = (Self.splitKeras3(a), Self.splitKeras3(b))
                    let (rx, ry) = (subs.firstIndex(of: x.sub) ?? subs.count, subs.firstIndex(of: y.sub) ?? subs.count)
                    return (rx, x.sub, x.index) < (ry, y.sub, y.index)
                }
                return (layerName, sorted.map { name in
                    let s = Self.splitKeras3(name)
                    return (layerName + "/" + (s.sub.isEmpty ? "" : s.sub + "/") + "vars/\(s.index)", name)
                })
            }
        }
    }

    /// Each tensor's dataset path in the Keras 3 layout.
    func keras3Paths(keras: KerasModelLayers, file: String) throws -> [String: String] {
        if style == .keras3 { return Dictionary(names.map { ($0, $0) }, uniquingKeysWith: { a, _ in a }) }
        let byName = Dictionary(keras.saved.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [String: String] = [:]
        for (layer, weights) in try legacyLayers(keras: nil, file: file) {
            if layer == "top_level_model_weights" {
                for (i, w) in weights.enumerated() { out[w.tensor] = "vars/\(i)" }
                continue
            }
            guard let info = byName[layer] else {
                throw HDF5Error.cannotWrite(file: file, tensor: weights.first?.tensor ?? layer,
                                            reason: "layer '\(layer)' is not in the model's Keras config, so its Keras 3 group is unknown")
            }
            let subs = KerasModelLayers.sublayers(of: info.className, config: info.config)
            guard weights.count % subs.count == 0 else {
                throw HDF5Error.cannotWrite(file: file, tensor: weights[0].tensor,
                                            reason: "layer '\(layer)' (\(info.className)) has \(weights.count) weights, which do not split over its sublayers \(subs)")
            }
            let per = weights.count / subs.count
            for (i, w) in weights.enumerated() {
                let sub = subs[i / per]
                out[w.tensor] = "layers/" + info.group + (sub.isEmpty ? "" : "/" + sub) + "/vars/\(i % per)"
            }
        }
        return out
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
