/// How Porter treats a global a pickle names.
public enum GlobalClass: Sendable, Hashable {
    /// On the allow-list: Porter knows what it means and gives it inert meaning.
    case allowed
    /// Not on the allow-list and not known to be harmful: kept as an inert object.
    case unknown
    /// Code execution, imports, file, process or network access: refused.
    case dangerous(reason: String)
}

/// The allow-list and the list of known-dangerous callables.
///
/// Safety does not depend on the dangerous list: Porter's pickle VM never calls a
/// global, it only builds data. The dangerous list exists so that files which try
/// are refused loudly instead of read, and so `porter scan` can say why.
public enum PickleSafety {
    /// Globals Porter gives meaning to (or knows to be plain data).
    public static let allowed: Set<String> = {
        var s: Set<String> = [
            "collections.OrderedDict", "collections.defaultdict", "collections.Counter", "collections.deque",
            "argparse.Namespace",
            "builtins.set", "builtins.frozenset", "builtins.slice", "builtins.dict", "builtins.list",
            "builtins.tuple", "builtins.bytearray", "builtins.bytes", "builtins.complex", "builtins.int",
            "builtins.float", "builtins.str", "builtins.bool", "builtins.range", "builtins.object",
            "__builtin__.set", "__builtin__.frozenset", "__builtin__.slice", "__builtin__.dict",
            "__builtin__.list", "__builtin__.tuple", "__builtin__.long", "__builtin__.int",
            "__builtin__.float", "__builtin__.unicode", "__builtin__.str", "__builtin__.bytearray",
            "__builtin__.bool", "__builtin__.complex", "__builtin__.object",
            "copy_reg._reconstructor", "copyreg._reconstructor", "copyreg.__newobj__",
            "_codecs.encode",
            "typing.Any", "enum.Enum",
            "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
            "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
            "numpy.ndarray", "numpy.dtype", "numpy.float64", "numpy.float32", "numpy.int64", "numpy.int32",
            "numpy.dtypes.Float64DType", "numpy.dtypes.Float32DType", "numpy.dtypes.Int64DType",
            "numpy.dtypes.Int32DType",
            "omegaconf.dictconfig.DictConfig", "omegaconf.listconfig.ListConfig",
            "omegaconf.base.ContainerMetadata", "omegaconf.base.Metadata",
            "omegaconf.nodes.AnyNode", "omegaconf.nodes.StringNode", "omegaconf.nodes.IntegerNode",
            "omegaconf.nodes.FloatNode", "omegaconf.nodes.BooleanNode", "omegaconf.nodes.EnumNode",
            "omegaconf.nodes.ValueNode", "omegaconf.nodes.PathNode", "omegaconf.nodes.BytesNode",
            "torch.Size", "torch.device", "torch.Tensor", "torch.nn.parameter.Parameter",
            "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
            "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
            "torch._tensor._rebuild_from_type_v2", "torch._utils._rebuild_qtensor",
            "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
            "torch._utils._rebuild_wrapper_subclass", "torch._utils._rebuild_device_tensor_from_numpy",
            "torch._utils._rebuild_nested_tensor",
            "torch.storage.UntypedStorage", "torch.storage.TypedStorage", "torch.UntypedStorage",
            "torch.serialization._get_layout",
            "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_tensorlist",
            "torch.jit._pickle.build_doublelist", "torch.jit._pickle.build_boollist",
            "torch.jit._pickle.build_tensor_from_id", "torch.jit._pickle.restore_type_tag",
            "torch.per_tensor_affine", "torch.per_channel_affine",
        ]
        for storage in ["Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
                        "ComplexFloat", "ComplexDouble", "QInt8", "QUInt8", "QInt32", "QUInt4x2", "QUInt2x4",
                        "UInt16", "UInt32", "UInt64", "Float8_e4m3fn", "Float8_e5m2"] {
            s.insert("torch.\(storage)Storage")
            s.insert("torch.cuda.\(storage)Storage")
        }
        // Tensor type markers of pre-1.0 files (`(key, storage key, torch.FloatTensor)`).
        for tensor in ["Float", "Double", "Half", "Long", "Int", "Short", "Char", "Byte", "Bool", "BFloat16"] {
            s.insert("torch.\(tensor)Tensor")
            s.insert("torch.cuda.\(tensor)Tensor")
        }
        for dtype in ["float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64", "long",
                      "int32", "int", "int16", "short", "int8", "uint8", "bool", "uint16", "uint32", "uint64",
                      "complex64", "complex128", "cfloat", "cdouble", "float8_e4m3fn", "float8_e5m2",
                      "qint8", "quint8", "qint32", "contiguous_format", "channels_last", "preserve_format",
                      "strided", "sparse_coo"] {
            s.insert("torch.\(dtype)")
        }
        return s
    }()

    /// Modules whose every member is refused (prefix match on dotted module paths).
    public static let dangerousModules: [String: String] = [
        "os": "operating-system calls", "posix": "operating-system calls", "nt": "operating-system calls",
        "posixpath": "file system access", "ntpath": "file system access",
        "subprocess": "runs processes", "sys": "interpreter internals", "importlib": "imports code",
        "runpy": "runs code", "webbrowser": "opens URLs", "socket": "network access", "shutil": "file operations",
        "pty": "spawns shells", "ctypes": "calls native code", "code": "runs code", "codeop": "compiles code",
        "pickle": "nested unpickling", "_pickle": "nested unpickling", "cPickle": "nested unpickling",
        "dill": "nested unpickling", "marshal": "loads code objects", "types": "builds code objects",
        "multiprocessing": "runs processes", "asyncio": "runs processes", "signal": "signal handlers",
        "threading": "runs code", "_thread": "runs code", "pdb": "runs code", "bdb": "runs code",
        "timeit": "runs code", "trace": "runs code", "profile": "runs code", "cProfile": "runs code",
        "http": "network access", "urllib": "network access", "urllib2": "network access",
        "requests": "network access", "ftplib": "network access", "smtplib": "network access",
        "telnetlib": "network access", "xmlrpc": "network access", "tempfile": "file operations",
        "glob": "file system access", "pathlib": "file system access", "io": "file access", "_io": "file access",
        "operator": "attribute access (attrgetter/methodcaller)", "functools": "calls functions",
        "inspect": "interpreter internals", "gc": "interpreter internals", "platform": "runs processes",
        "pkgutil": "imports code", "zipimport": "imports code", "commands": "runs processes",
        "popen2": "runs processes", "distutils": "runs code", "setuptools": "runs code", "pip": "installs code",
        "venv": "runs processes", "ensurepip": "installs code", "builtins.__import__": "imports code",
        "torch.hub": "downloads and runs code", "torch.load": "nested unpickling", "torch.jit.load": "loads code",
        "torch.serialization": "nested unpickling", "torch._C": "native internals", "torch.ops": "native operators",
        "torch._dynamo": "compiles code", "torch.fx": "builds code", "numpy.testing": "runs code",
        "joblib": "nested unpickling", "yaml": "unsafe loaders", "shelve": "nested unpickling",
        "copyreg": "registry mutation", "copy_reg": "registry mutation",
        "_posixsubprocess": "runs processes", "_winapi": "operating-system calls", "msvcrt": "operating-system calls",
        "winreg": "registry access", "_ctypes": "calls native code", "fcntl": "file descriptors", "resource": "process limits",
        "mmap": "raw memory", "select": "file descriptors", "ssl": "network access", "asyncore": "network access",
        "asynchat": "network access", "sqlite3": "file access", "dbm": "file access", "zipfile": "file access",
        "tarfile": "file access", "builtins.open": "file access", "torch.utils.cpp_extension": "compiles native code",
        "torch.package": "loads code", "torch._inductor": "compiles code", "torch.distributed": "network access",
        "torch.multiprocessing": "runs processes", "numpy.f2py": "compiles code", "numpy.distutils": "runs code",
        "numpy.ctypeslib": "calls native code",
    ]

    /// Dangerous single names in otherwise allowed modules.
    public static let dangerousNames: [String: String] = [
        "torch.storage._load_from_bytes": "runs torch.load on embedded bytes",
        "torch.load": "nested unpickling", "torch.save": "writes files", "numpy.load": "nested unpickling",
        "numpy.save": "writes files", "numpy.fromfile": "reads files", "numpy.loadtxt": "reads files",
        "numpy.core.multiarray._frombuffer": "raw memory",
    ]

    /// Builtins that are plain data constructors; every other builtin is refused.
    static let builtinModules: Set<String> = ["builtins", "__builtin__"]

    /// Classifies `module.name`. Names with attribute paths reaching into dunders are refused.
    public static func classify(module: String, name: String) -> GlobalClass {
        let full = "\(module).\(name)"
        if allowed.contains(full) { return .allowed }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        if parts.contains(where: { $0.isEmpty || ($0.hasPrefix("__") && $0.hasSuffix("__")) }) && parts.count > 1 {
            return .dangerous(reason: "attribute path into interpreter internals")
        }
        if module.isEmpty || name.isEmpty { return .dangerous(reason: "empty module or name") }
        if let reason = dangerousNames[full] { return .dangerous(reason: reason) }
        if builtinModules.contains(module) {
            return .dangerous(reason: "builtin callable \(name) is not a data constructor")
        }
        // Prefix match on the module path and on module.name (for entries like torch.load).
        var candidate = ""
        for component in full.split(separator: ".") {
            candidate = candidate.isEmpty ? String(component) : candidate + "." + component
            if let reason = dangerousModules[candidate] { return .dangerous(reason: reason) }
        }
        return .unknown
    }
}
