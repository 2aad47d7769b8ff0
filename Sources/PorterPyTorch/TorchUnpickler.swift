import Foundation
import PorterCore
import PorterPickle

/// Storages by key, shared by every tensor that names the key (so views and ties stay aliases).
final class StorageTable: @unchecked Sendable {
    private let lock = NSLock()
    private var storages: [String: TensorStorage] = [:]
    let make: @Sendable (String, DType?) throws -> TensorStorage

    init(make: @escaping @Sendable (String, DType?) throws -> TensorStorage) { self.make = make }

    func storage(_ key: String, dtype: DType?) throws -> TensorStorage {
        lock.lock()
        defer { lock.unlock() }
        if let s = storages[key] { return s }
        let s = try make(key, dtype)
        storages[key] = s
        return s
    }
}

/// The meaning of PyTorch's persistent ids and rebuild functions, as pickle hooks.
enum TorchUnpickler {
    /// Parses `('storage', <class>, key, location, numel[, view_metadata])`.
    static func storageReference(_ pid: PickleValue, path: String, offset: Int) throws -> (key: String, dtype: DType?, className: String) {
        guard let items = pid.sequenceItems, items.count >= 5, items[0].stringValue == "storage" else {
            throw PyTorchError.badPersistentID(path: path, offset: offset, reason: "expected ('storage', class, key, location, numel), found \(pid.kindName)")
        }
        guard case let .global(cls) = items[1] else {
            throw PyTorchError.badPersistentID(path: path, offset: offset, reason: "storage class is \(items[1].kindName)")
        }
        let key: String
        if let s = items[2].stringValue { key = s } else if let i = items[2].intValue { key = String(i) } else {
            throw PyTorchError.badPersistentID(path: path, offset: offset, reason: "storage key is \(items[2].kindName)")
        }
        guard !key.contains("/"), !key.contains(".."), !key.isEmpty else {
            throw PyTorchError.badPersistentID(path: path, offset: offset, reason: "storage key '\(key)' is not a plain name")
        }
        if items.count >= 6, case .tuple = items[5] {
            throw PyTorchError.unsupportedTensor(path: path, offset: offset, function: "storage view", reason: "view_metadata storages (torch < 0.4) are not supported")
        }
        if cls.name == "UntypedStorage" { return (key, nil, cls.name) }
        guard let dtype = TorchTypes.dtype(storageClass: cls.name) else {
            throw PyTorchError.unsupportedStorage(path: path, offset: offset, storageClass: cls.description)
        }
        return (key, dtype, cls.name)
    }

    static func hooks(path: String, table: StorageTable, byteOrder: ByteOrder) -> PickleHooks {
        PickleHooks(persistentLoad: { pid, offset in
            let ref = try storageReference(pid, path: path, offset: offset)
            let storage = try table.storage(ref.key, dtype: ref.dtype)
            return .storage(PickleStorage(storage: storage, dtype: ref.dtype, byteOrder: byteOrder, key: ref.key))
        }, reduce: { g, args, offset in
            try reduce(g, args: args, path: path, offset: offset)
        }, build: { target, state, offset in
            try NumpyArray.tensor(target, state: state, path: path, offset: offset)
        })
    }

    static func ints(_ v: PickleValue, _ what: String, path: String, offset: Int) throws -> [Int] {
        guard let items = v.sequenceItems else { throw PyTorchError.badTensorArguments(path: path, offset: offset, reason: "\(what) is \(v.kindName), not a tuple") }
        return try items.map {
            guard let i = $0.intValue else { throw PyTorchError.badTensorArguments(path: path, offset: offset, reason: "\(what) holds \($0.kindName)") }
            return i
        }
    }

    static func tensor(storage: PickleValue, offset storageOffset: PickleValue, size: PickleValue, stride: PickleValue, dtype: DType?,
                       path: String, offset: Int) throws -> PickleValue {
        guard case let .storage(s) = storage else {
            throw PyTorchError.badTensorArguments(path: path, offset: offset, reason: "storage argument is \(storage.kindName)")
        }
        guard let dtype = dtype ?? s.dtype else {
            throw PyTorchError.badTensorArguments(path: path, offset: offset, reason: "untyped storage \(s.key) without a dtype")
        }
        guard let elementOffset = storageOffset.intValue else {
            throw PyTorchError.badTensorArguments(path: path, offset: offset, reason: "storage offset is \(storageOffset.kindName)")
        }
        let dims = try ints(size, "size", path: path, offset: offset)
        let strides = try ints(stride, "stride", path: path, offset: offset)
        guard dims.count == strides.count, dims.allSatisfy({ $0 >= 0 }) else {
            throw PyTorchError.badTensorArguments(path: path, offset: offset, reason: "size \(dims) and stride \(strides) do not match")
        }
        let shape = Shape(dims)
        let t = TensorRef(dtype: dtype, shape: shape, storage: s.storage, offset: elementOffset,
                          strides: strides == shape.contiguousStrides ? nil : strides, byteOrder: dtype.byteSize == 1 ? .little : s.byteOrder)
        try t.validate(name: "\(path): tensor at byte \(offset) of the pickle (storage \(s.key))")
        return .tensor(t)
    }

    static func reduce(_ g: PickleGlobal, args: PickleValue, path: String, offset: Int) throws -> PickleValue? {
        let a = args.sequenceItems ?? []
        func need(_ n: Int) throws {
            guard a.count >= n else {
                throw PyTorchError.badTensorArguments(path: path, offset: offset, reason: "\(g) takes at least \(n) arguments, got \(a.count)")
            }
        }
        switch g.description {
        case "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2":
            try need(4)
            return try tensor(storage: a[0], offset: a[1], size: a[2], stride: a[3], dtype: nil, path: path, offset: offset)
        case "torch._utils._rebuild_tensor_v3":
            try need(7)
            guard case let .global(d) = a[6], let dtype = TorchTypes.dtype(torchName: d.name) else {
                throw PyTorchError.unsupportedTensor(path: path, offset: offset, function: g.description, reason: "dtype \(a[6].kindName) has no Porter equivalent")
            }
            return try tensor(storage: a[0], offset: a[1], size: a[2], stride: a[3], dtype: dtype, path: path, offset: offset)
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state", "torch.nn.parameter.Parameter":
            try need(1)
            guard case .tensor = a[0] else {
                throw PyTorchError.badTensorArguments(path: path, offset: offset, reason: "\(g) wraps \(a[0].kindName), not a tensor")
            }
            return a[0]
        case "torch._tensor._rebuild_from_type_v2":
            try need(3)
            guard case let .global(f) = a[0] else {
                throw PyTorchError.badTensorArguments(path: path, offset: offset, reason: "_rebuild_from_type_v2 function is \(a[0].kindName)")
            }
            guard PickleSafety.classify(module: f.module, name: f.name) == .allowed, let inner = try reduce(f, args: a[2], path: path, offset: offset) else {
                throw PyTorchError.unsupportedTensor(path: path, offset: offset, function: f.description, reason: "not a tensor rebuild function")
            }
            return inner
        case "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_tensorlist", "torch.jit._pickle.build_doublelist",
             "torch.jit._pickle.build_boollist":
            try need(1)
            return a[0]
        case "torch._utils._rebuild_qtensor", "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
             "torch._utils._rebuild_wrapper_subclass", "torch._utils._rebuild_device_tensor_from_numpy", "torch._utils._rebuild_nested_tensor":
            throw PyTorchError.unsupportedTensor(path: path, offset: offset, function: g.description,
                                                 reason: "quantized, sparse, meta, nested and subclass tensors have no neutral form")
        default:
            return nil
        }
    }
}
