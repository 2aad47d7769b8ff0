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
        "numpy.ctypeslib": "calls native code", "pydoc": "runs pagers and processes", "_osx_support": "runs processes",
        "_aix_support": "runs processes", "doctest": "runs code under a debugger", "imp": "imports code", "site": "runs .pth files",
        "logging.config": "runs code from configuration", "logging.handlers": "files and network", "cgi": "runs code",
        "cgitb": "writes files", "idlelib": "runs code", "lib2to3": "rewrites files", "fileinput": "file access",
        "linecache": "reads files", "mailcap": "runs commands", "nturl2path": "file paths", "socketserver": "network access",
        "wsgiref": "network access", "poplib": "network access", "imaplib": "network access", "nntplib": "network access",
        "smtpd": "network access", "concurrent": "runs code", "sched": "runs code", "atexit": "runs code at exit",
        "builtins.eval": "evaluates code", "builtins.exec": "evaluates code", "builtins.compile": "compiles code",
        "builtins.getattr": "reaches arbitrary attributes", "builtins.breakpoint": "opens a debugger",
        "tkinter": "runs Tcl", "_tkinter": "runs Tcl", "turtle": "runs Tcl", "readline": "terminal state",
        "uuid._get_command_stdout": "runs processes", "numpy.lib.format.open_memmap": "creates files",
    ]

    /// Dangerous single names in otherwise allowed modules.
    public static let dangerousNames: [String: String] = [
        "torch.storage._load_from_bytes": "runs torch.load on embedded bytes",
        "torch.load": "nested unpickling", "torch.save": "writes files", "numpy.load": "nested unpickling",
        "numpy.save": "writes files", "numpy.fromfile": "reads files", "numpy.loadtxt": "reads files",
        "numpy.core.multiarray._frombuffer": "raw memory", "numpy.memmap": "maps and creates files",
        "torch.from_file": "maps and creates files", "codecs.open": "file access",
        "logging.FileHandler": "creates files", "uuid._get_command_stdout": "runs processes",
    ]

    /// Families of callables by the last component of their name: a global whose attribute
    /// name ends in one of these is dangerous in whatever module it sits (`numpy.lib._npyio_impl.load`,
    /// `torch.UntypedStorage.from_file`, `pathlib.Path.write_text`).
    public static let dangerousLeaves: [String: String] = {
        var d: [String: String] = [:]
        for n in ["system", "popen", "popen2", "popen3", "popen4", "Popen", "fork", "forkpty", "posix_spawn", "posix_spawnp",
                  "call", "check_call", "check_output", "getoutput", "getstatusoutput", "_read_output", "_get_command_stdout",
                  "kill", "killpg"] { d[n] = "runs processes" }
        for n in ["eval", "exec", "execfile", "compile", "runsource", "runcode", "run", "run_path", "run_module", "timeit", "repeat"] {
            d[n] = "evaluates code"
        }
        for n in ["__import__", "import_module", "load_module", "resolve_name", "reload"] { d[n] = "imports modules" }
        for n in ["pipepager", "tempfilepager", "pager", "debug_script", "debug_src", "set_trace", "breakpoint", "post_mortem",
                  "interact"] { d[n] = "opens a debugger or pager" }
        for n in ["load", "loads", "load_from_bytes", "_load_from_bytes", "unsafe_load", "full_load"] { d[n] = "nested deserialisation" }
        for n in ["open", "open_memmap", "memmap", "from_file", "fromfile", "remove", "unlink", "rmdir", "rmtree", "rename", "renames",
                  "replace", "mkdir", "makedirs", "mkdtemp", "mkstemp", "chmod", "chown", "symlink", "link", "truncate", "write",
                  "write_text", "write_bytes", "touch", "save", "savez", "savez_compressed", "savetxt", "tofile", "copyfile", "copy",
                  "copy2", "copytree", "move", "make_archive", "unpack_archive", "FileHandler", "dlopen", "CDLL", "LoadLibrary"] {
            d[n] = "touches the file system"
        }
        for n in ["urlopen", "urlretrieve", "create_connection", "connect", "socket", "SMTP", "FTP", "Telnet", "HTTPConnection",
                  "HTTPSConnection"] { d[n] = "network access" }
        for n in ["getattr", "setattr", "delattr", "globals", "locals", "vars", "attrgetter", "methodcaller"] { d[n] = "reaches arbitrary attributes" }
        return d
    }()

    /// Builtins that are plain data constructors; every other builtin is refused.
    static let builtinModules: Set<String> = ["builtins", "__builtin__"]

    /// Classifies `module.name` as Python's unpickler would resolve it. A Python 2 name that
    /// pickle's compatibility tables map (protocols 0–2 load `cStringIO.open` as `io.open`)
    /// gets the verdict of the name Python loads: the mapped one, or — when the name as
    /// written also exists in Python 3 and a protocol 3+ pickle would load it — the worse of
    /// the two.
    public static func classify(module: String, name: String) -> GlobalClass {
        let direct = classifyResolved(module: module, name: name)
        guard let mapped = compatMapped(module: module, name: name) else { return direct }
        let other = classifyResolved(module: mapped.module, name: mapped.name)
        let live = PickleCompatTable.resolvableInPython3
        if !live.contains("\(module).\(name)") && !live.contains(module) { return other }
        switch (direct, other) {
        case (.dangerous, _): return direct
        case (_, .dangerous): return other
        case (.unknown, _): return direct
        case (_, .unknown): return other
        default: return .allowed
        }
    }

    /// The Python 3 name pickle imports for a Python 2 `module.name` (nil when unmapped).
    public static func compatMapped(module: String, name: String) -> (module: String, name: String)? {
        if let full = PickleCompatTable.names["\(module).\(name)"], let dot = full.lastIndex(of: ".") {
            return (String(full[..<dot]), String(full[full.index(after: dot)...]))
        }
        if let m = PickleCompatTable.modules[module] { return (m, name) }
        return nil
    }

    /// The rule, in order: allow-listed → allowed; empty parts or dunder attribute paths →
    /// dangerous; a dangerous module (prefix of the module path), a dangerous name, any
    /// attribute component that names a dangerous module (`torch._utils_internal.os.system`,
    /// `argparse._os.system`), or a last component in a dangerous family → dangerous;
    /// a builtin that is not a data constructor → dangerous; anything else → unknown (review).
    static func classifyResolved(module: String, name: String) -> GlobalClass {
        let full = "\(module).\(name)"
        if allowed.contains(full) { return .allowed }
        if module.isEmpty || name.isEmpty { return .dangerous(reason: "empty module or name") }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.contains(where: { $0.isEmpty }) { return .dangerous(reason: "empty attribute in \(name)") }
        if parts.count > 1 && parts.contains(where: { $0.hasPrefix("__") && $0.hasSuffix("__") }) {
            return .dangerous(reason: "attribute path into interpreter internals")
        }
        if let reason = dangerousNames[full] { return .dangerous(reason: reason) }
        // Prefix match on the module path and on module.name (for entries like torch.load).
        var candidate = ""
        for component in full.split(separator: ".") {
            candidate = candidate.isEmpty ? String(component) : candidate + "." + component
            if let reason = dangerousModules[candidate] { return .dangerous(reason: reason) }
        }
        // Attribute paths (protocol 4 dotted names) walk through whatever the module imported:
        // every component but the last may be a module object (`os`, or an alias like `_os`).
        for (i, part) in parts.enumerated() where i < parts.count - 1 {
            let bare = String(part.drop { $0 == "_" })
            if let reason = dangerousModules[part] ?? dangerousModules[bare] {
                return .dangerous(reason: "attribute path through module \(part): \(reason)")
            }
            let rest = parts[i...].joined(separator: ".")
            if let reason = dangerousNames[rest] { return .dangerous(reason: reason) }
        }
        if let leaf = parts.last, let family = dangerousLeaves[leaf] {
            return .dangerous(reason: "\(leaf) \(family)")
        }
        if builtinModules.contains(module) {
            return .dangerous(reason: "builtin callable \(name) is not a data constructor")
        }
        return .unknown
    }
}
