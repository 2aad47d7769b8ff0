import CHDF5
import CHDF5Shim
import Foundation
import PorterCore

/// Something in an HDF5 file that would make libhdf5 read outside the file or load code:
/// found by walking every link of the file once, without reading any data.
public struct HDF5Hazard: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// A dataset whose bytes live in another file (`H5Pset_external`).
        case externalStorage
        /// A virtual dataset (VDS) mapping source datasets, usually in other files.
        case virtualDataset
        /// An external link (`H5Lcreate_external`, h5py `ExternalLink`).
        case externalLink
        /// A link of a user-defined class (resolved by a registered callback).
        case userDefinedLink
        /// A soft link to a path that does not exist.
        case danglingSoftLink
        /// A filter in a dataset's pipeline that is not built into libhdf5 (a plugin).
        case filterNotBuiltIn
    }

    public var kind: Kind
    /// The object path in the HDF5 file (`/dense/dense/kernel:0`).
    public var path: String
    /// What it points at: the outside file (external storage, external link `file:/object`,
    /// VDS `file:/dataset`), the soft link's target, or `filter <id> (<name>)`.
    public var target: String
    /// Filter id (filterNotBuiltIn) or link type (userDefinedLink); 0 otherwise.
    public var code: Int = 0
    /// The filter's name as the file records it (filterNotBuiltIn; may be empty).
    public var filterName: String = ""

    public init(kind: Kind, path: String, target: String, code: Int = 0, filterName: String = "") {
        self.kind = kind
        self.path = path
        self.target = target
        self.code = code
        self.filterName = filterName
    }

    public var description: String { "\(kind.rawValue) at \(path): \(target)" }

    /// The typed error a reader throws for this hazard in `file`.
    public func error(file: String) -> HDF5Error {
        switch kind {
        case .externalStorage: return .externalStorage(file: file, dataset: path, target: target)
        case .virtualDataset: return .virtualDataset(file: file, dataset: path, source: target)
        case .externalLink: return .externalLink(file: file, link: path, target: target)
        case .userDefinedLink: return .userDefinedLink(file: file, link: path, linkType: code)
        case .danglingSoftLink: return .danglingSoftLink(file: file, link: path, target: target)
        case .filterNotBuiltIn: return .filterNotBuiltIn(file: file, dataset: path, filter: code, name: filterName)
        }
    }
}

/// Lists an HDF5 file's hazards (for `porter scan`) and refuses files that have any (every
/// reader, at open). See docs/security.md (HDF5 confinement).
public enum HDF5Hazards {
    /// libhdf5's built-in filters Porter lets a dataset use (when this libhdf5 has them):
    /// deflate, shuffle, fletcher32, szip, nbit, scale-offset.
    public static let builtInFilters: Set<Int> = [1, 2, 3, 4, 5, 6]

    /// libhdf5's plugin loading mask after Porter's set-up (0: no plugin of any kind is ever
    /// loaded). Porter turns loading off before the first file is opened or created.
    public static var pluginLoadingMask: Int64 {
        H5.prepare()
        return Int64(porter_h5_plugin_loading_state())
    }

    /// Every hazard in the HDF5 file at `url` (a `.keras` archive: in its `model.weights.h5`),
    /// without reading any dataset's bytes. Throws when the file cannot be opened as HDF5.
    /// Plugin loading is off before libhdf5 opens anything.
    public static func scan(url: URL) throws -> [HDF5Hazard] {
        let head = (try? OpenFile(path: url.path).read(offset: 0, count: 4)) ?? []
        if head == [0x50, 0x4B, 0x03, 0x04] {
            let member = try KerasArchiveReader.openWeights(url, checkHazards: false)
            return try walk(member)
        }
        let file = try H5File(path: url.path, checkHazards: false)
        return try walk(file)
    }

    /// Throws the first hazard of `file` as its typed error.
    static func refuse(_ file: H5File) throws {
        if let first = try walk(file, stopAtFirst: true).first { throw first.error(file: file.path) }
    }

    /// Walks every link reachable from the root once (hard-link cycles entered once), checking
    /// links before anything follows them and each dataset's creation properties. Soft links
    /// are resolved only after the whole tree is known to hold no external or user-defined
    /// link, so resolving one cannot leave the file.
    static func walk(_ file: H5File, stopAtFirst: Bool = false) throws -> [HDF5Hazard] {
        H5.prepare()
        var hazards: [HDF5Hazard] = []
        var softLinks: [(group: H5Handle, name: String, path: String, target: String)] = []
        var visited = Set<UInt64>()
        var count = 0
        let root = try H5.handle(H5Gopen2(file.handle.id, "/", porter_h5p_default()), .group, file: file.path, path: "/", "H5Gopen")
        var rootInfo = H5O_info_t()
        if H5Oget_info2(root.id, &rootInfo, UInt32(H5O_INFO_BASIC)) >= 0 { visited.insert(UInt64(rootInfo.addr)) }
        // Depth-first over groups by handle: a child is entered through its hard link only.
        var stack: [(group: H5Handle, path: String, depth: Int)] = [(root, "", 0)]
        while let (group, path, depth) = stack.popLast() {
            if stopAtFirst, !hazards.isEmpty { break }
            guard depth < H5File.maxWalkDepth else {
                throw HDF5Error.operationFailed(file: file.path, path: path.isEmpty ? "/" : path, operation: "walking groups",
                                                detail: "groups nest deeper than \(H5File.maxWalkDepth) levels")
            }
            var ginfo = H5G_info_t()
            try H5.check(H5Gget_info(group.id, &ginfo), file: file.path, path: path.isEmpty ? "/" : path, "H5Gget_info")
            var names: [String] = []
            for i in 0..<ginfo.nlinks {
                let n = H5Lget_name_by_idx(group.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, porter_h5p_default())
                guard n >= 0, n < 1 << 16 else {
                    throw HDF5Error.operationFailed(file: file.path, path: path.isEmpty ? "/" : path, operation: "H5Lget_name_by_idx", detail: H5.errorText())
                }
                var buf = [CChar](repeating: 0, count: Int(n) + 1)
                _ = H5Lget_name_by_idx(group.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count, porter_h5p_default())
                names.append(buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
            }
            for name in names {
                if stopAtFirst, !hazards.isEmpty { return hazards }
                // Every call below names one link of this group: a name that is a path would
                // make libhdf5 traverse other links (maybe external ones) first.
                guard !name.isEmpty, !name.contains("/"), name != "." else {
                    throw HDF5Error.operationFailed(file: file.path, path: path.isEmpty ? "/" : path, operation: "walking links",
                                                    detail: "a link is named '\(name)', which is not a link name (corrupt file)")
                }
                count += 1
                guard count <= H5File.maxWalkObjects else {
                    throw HDF5Error.tooLarge(file: file.path, path: path.isEmpty ? "/" : path, bytes: count, limit: H5File.maxWalkObjects)
                }
                let full = path + "/" + name
                var type: Int32 = 0
                var address: UInt64 = 0
                var target = [CChar](repeating: 0, count: 4096)
                var object = [CChar](repeating: 0, count: 4096)
                guard porter_h5_link(group.id, name, &type, &address, &target, target.count, &object, object.count) == 0 else {
                    throw HDF5Error.operationFailed(file: file.path, path: full, operation: "H5Lget_info", detail: H5.errorText())
                }
                let targetText = target.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                let objectText = object.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                switch type {
                case porter_h5l_type_hard():
                    break
                case porter_h5l_type_soft():
                    softLinks.append((group, name, full, targetText))
                    continue
                case porter_h5l_type_external():
                    hazards.append(HDF5Hazard(kind: .externalLink, path: full, target: "\(targetText):\(objectText)"))
                    continue
                default:
                    hazards.append(HDF5Hazard(kind: .userDefinedLink, path: full, target: "link type \(type)", code: Int(type)))
                    continue
                }
                // A hard link: what it names, without opening it yet.
                var info = H5O_info_t()
                guard H5Oget_info_by_name2(group.id, name, &info, UInt32(H5O_INFO_BASIC), porter_h5p_default()) >= 0 else {
                    throw HDF5Error.operationFailed(file: file.path, path: full, operation: "H5Oget_info_by_name", detail: H5.errorText())
                }
                switch info.type {
                case H5O_TYPE_GROUP:
                    guard visited.insert(UInt64(info.addr)).inserted else { continue }
                    let child = try H5.handle(H5Gopen2(group.id, name, porter_h5p_default()), .group, file: file.path, path: full, "H5Gopen")
                    stack.append((child, full, depth + 1))
                case H5O_TYPE_DATASET:
                    guard visited.insert(UInt64(info.addr)).inserted else { continue }
                    hazards += try datasetHazards(group: group, name: name, path: full, file: file)
                default:
                    continue  // committed datatypes hold no data
                }
            }
        }
        // Soft links, now that the file is known to hold no link out of it.
        if hazards.isEmpty || !stopAtFirst {
            let linksOut = hazards.contains { $0.kind == .externalLink || $0.kind == .userDefinedLink }
            for s in softLinks where !linksOut {
                H5.prepare()
                let exists = H5Oexists_by_name(s.group.id, s.name, porter_h5p_default())
                H5Eclear2(porter_h5e_default())
                if exists <= 0 { hazards.append(HDF5Hazard(kind: .danglingSoftLink, path: s.path, target: s.target)) }
                if stopAtFirst, !hazards.isEmpty { break }
            }
        }
        return hazards
    }

    /// External storage, virtual layout and non-built-in filters of one dataset, read from
    /// its creation property list (opening a dataset reads its header, not its data).
    private static func datasetHazards(group: H5Handle, name: String, path: String, file: H5File) throws -> [HDF5Hazard] {
        let d = try H5.handle(H5Dopen2(group.id, name, porter_h5p_default()), .dataset, file: file.path, path: path, "H5Dopen")
        let dcpl = try H5.handle(H5Dget_create_plist(d.id), .propertyList, file: file.path, path: path, "H5Dget_create_plist")
        var out: [HDF5Hazard] = []
        let external = H5Pget_external_count(dcpl.id)
        if external != 0 {
            var buf = [CChar](repeating: 0, count: 4096)
            var offset: off_t = 0
            var size: hsize_t = 0
            let target: String
            if external > 0, H5Pget_external(dcpl.id, 0, buf.count, &buf, &offset, &size) >= 0 {
                target = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                    + (external > 1 ? " and \(external - 1) more file(s)" : "")
            } else {
                H5Eclear2(porter_h5e_default())
                target = "unreadable external file list"
            }
            out.append(HDF5Hazard(kind: .externalStorage, path: path, target: target))
        }
        if H5Pget_layout(dcpl.id) == H5D_VIRTUAL {
            var mappings = 0
            var source = "no readable mapping"
            if H5Pget_virtual_count(dcpl.id, &mappings) >= 0, mappings > 0 {
                var fbuf = [CChar](repeating: 0, count: 4096)
                var dbuf = [CChar](repeating: 0, count: 4096)
                if H5Pget_virtual_filename(dcpl.id, 0, &fbuf, fbuf.count) >= 0, H5Pget_virtual_dsetname(dcpl.id, 0, &dbuf, dbuf.count) >= 0 {
                    source = fbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } + ":"
                        + dbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                        + (mappings > 1 ? " and \(mappings - 1) more mapping(s)" : "")
                }
            }
            H5Eclear2(porter_h5e_default())
            out.append(HDF5Hazard(kind: .virtualDataset, path: path, target: source))
        }
        let filters = H5Pget_nfilters(dcpl.id)
        if filters > 0 {
            for i in 0..<UInt32(min(filters, 64)) {
                var flags: UInt32 = 0
                var cdCount = 0
                var nameBuf = [CChar](repeating: 0, count: 256)
                var config: UInt32 = 0
                let id = H5Pget_filter2(dcpl.id, i, &flags, &cdCount, nil, nameBuf.count, &nameBuf, &config)
                let filterName = nameBuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                // Only ids on the built-in list are asked about: asking libhdf5 about any other
                // id is what would make it search for a plugin.
                if id >= 0, builtInFilters.contains(Int(id)), H5Zfilter_avail(id) > 0 { continue }
                H5Eclear2(porter_h5e_default())
                out.append(HDF5Hazard(kind: .filterNotBuiltIn, path: path,
                                      target: "filter \(id)" + (filterName.isEmpty ? "" : " (\(filterName))"), code: Int(id),
                                      filterName: filterName))
            }
        }
        return out
    }
}
