import Foundation
import PorterCore
import PorterPickle

extension TorchCheckpoint {
    /// Keys under which checkpoints nest their state dict, in the order tried.
    public static let stateDictKeys = ["state_dict", "model_state_dict", "model", "module"]
    /// Top-level keys holding training state, which a port does not carry.
    public static let trainingStateKeys: Set<String> = ["optimizer", "optimizer_history", "last_optimizer_state", "optimizer_state_dict",
                                                        "optimizer_states", "scheduler", "lr_scheduler", "lr_schedulers", "scaler",
                                                        "amp", "rng_state", "rng_states", "loops", "callbacks"]

    /// The checkpoint as a neutral model.
    ///
    /// Rule: if the root is a dict with one of `stateDictKeys` holding tensors, that value
    /// is the state dict; its tensors keep their dotted names (nested dicts, lists and
    /// tuples joined with `.`). Tensors elsewhere (optimizer state) go to `dropped`.
    /// Non-tensor top-level entries become `config` (JSON), except `trainingStateKeys`,
    /// which are listed in `notes`. Without such a key the whole root is flattened.
    /// TorchScript modules are flattened by module path; `constants.pkl` tensors are dropped.
    ///
    /// `stateDictPath` overrides the rule (`--read-option state-dict=KEY.PATH`): the state
    /// dict is the value at that key path (`[]`: the root), and a path that does not lead to
    /// a dict or module holding tensors is `PyTorchError.stateDictNotFound`.
    public func neutralModel(sourceFormat: String = "pytorch", stateDictPath: [String]? = nil) throws -> NeutralModel {
        var model = NeutralModel(sourceFormat: sourceFormat, sourceFiles: [path])
        model.notes = notes
        var config: [String: JSONValue] = [:]
        var weights: [(String, TensorRef)] = []
        var dropped: [(String, TensorRef, String)] = []

        // Descend through nested checkpoints ({"model": {"state_dict": …, "model_args": …}, …}):
        // at each level the state dict key holding a dict (or a module) is followed, and its
        // siblings are accounted for: training state noted, other values kept as config,
        // tensors outside the state dict dropped with the reason.
        var level = root
        var keyPath: [String] = []
        func holdsTensors(_ v: PickleValue?) -> Bool { v.map { Self.isContainer($0) && Self.containsTensor($0) } ?? false }
        while keyPath.count < (stateDictPath?.count ?? 4) {
            let key: String
            let d: PickleDict
            if let explicit = stateDictPath {
                key = explicit[keyPath.count]
                let available = level.dictValue.map { dict in dict.entries.map { PickleJSONKey.string($0.key) }.filter { holdsTensors(dict[$0]) } } ?? []
                guard let dict = level.dictValue, holdsTensors(dict[key]) else {
                    throw PyTorchError.stateDictNotFound(path: path, keyPath: explicit.prefix(keyPath.count + 1).joined(separator: "."), available: available)
                }
                d = dict
            } else {
                guard let dict = level.dictValue, let k = Self.stateDictKeys.first(where: { holdsTensors(dict[$0]) }) else { break }
                key = k
                d = dict
            }
            guard let sd = d[key] else { break }
            let here = (keyPath + [key]).joined(separator: ".")
            for (k, v) in d.entries {
                let name = PickleJSONKey.string(k)
                if name == key { continue }
                var outside: [(String, TensorRef)] = []
                Self.flatten(v, prefix: (keyPath + [name]).joined(separator: "."), into: &outside)
                let reason = Self.trainingStateKeys.contains(name) ? "training state (`\(name)`), not model weights"
                    : "outside the state dict `\(here)`"
                dropped += outside.map { ($0.0, $0.1, reason) }
                if Self.trainingStateKeys.contains(name) {
                    model.notes.append("training state `\((keyPath + [name]).joined(separator: "."))` not carried over")
                } else if !Self.containsTensor(v) {
                    config[config[name] == nil ? name : (keyPath + [name]).joined(separator: ".")] = v.jsonValue()
                } else {
                    model.notes.append("`\(name)` holds tensors outside the state dict `\(here)`; they were dropped")
                }
            }
            keyPath.append(key)
            level = sd
        }
        Self.flatten(level, prefix: "", into: &weights)
        if keyPath.isEmpty, let d = root.dictValue {
            for (k, v) in d.entries where !Self.containsTensor(v) {
                config[PickleJSONKey.string(k)] = v.jsonValue()
            }
        }
        if !keyPath.isEmpty { model.notes.append("state dict read from `\(keyPath.joined(separator: "."))`") }
        if case let .object(o) = level, Self.isModule(o) {
            var classes: [(String, String)] = []
            Self.moduleClasses(o, prefix: "", into: &classes)
            let counts = Dictionary(grouping: classes.dropFirst(), by: \.1).map { "\($0.key) ×\($0.value.count)" }.sorted()
            model.notes.append("pickled nn.Module \(classes.first?.1 ?? "?"): tensors named as its state_dict() names them"
                               + (counts.isEmpty ? "" : "; submodules: " + counts.joined(separator: ", ")))
        }
        // DistributedDataParallel (`module.`) and torch.compile (`_orig_mod.`) wrap every name.
        for wrapper in ["module.", "_orig_mod."] where !weights.isEmpty && weights.allSatisfy({ $0.0.hasPrefix(wrapper) }) {
            weights = weights.map { (String($0.0.dropFirst(wrapper.count)), $0.1) }
            model.notes.append("every name began with `\(wrapper)` (a \(wrapper == "module." ? "DistributedDataParallel" : "torch.compile") wrapper); the prefix was removed")
        }
        if let constants {
            var c: [(String, TensorRef)] = []
            Self.flatten(constants, prefix: "constants", into: &c)
            dropped += c.map { ($0.0, $0.1, "TorchScript code constant (constants.pkl), not a module parameter") }
        }
        for (name, t) in weights {
            do {
                try model.tensors.add(TensorEntry(name: name, tensor: t, provenance: Provenance(sourceFile: path, sourceName: name)))
            } catch {
                throw PyTorchError.duplicateName(path: path, name: name)
            }
        }
        model.dropped = dropped.map { DroppedTensor(name: $0.0, reason: $0.2, byteCount: $0.1.byteCount, sourceFile: path) }
        model.config = .object(config)
        return model
    }

    /// True when `v` holds a tensor anywhere (bounded walk).
    static func containsTensor(_ v: PickleValue) -> Bool {
        var found = false
        var budget = 1_000_000
        var seen: Set<ObjectIdentifier> = []
        var work = [v]
        while let x = work.popLast(), !found, budget > 0 {
            budget -= 1
            switch x {
            case .tensor: found = true
            case let .list(l), let .tuple(l), let .set(l), let .frozenset(l):
                if seen.insert(ObjectIdentifier(l)).inserted { work += l.items }
            case let .dict(d):
                if seen.insert(ObjectIdentifier(d)).inserted { work += d.entries.map(\.value) }
            case let .object(o):
                if seen.insert(ObjectIdentifier(o)).inserted, let s = o.stateDict { work += s.entries.map(\.value) }
            default: break
            }
        }
        return found
    }

    /// Tensors of a state-dict-like value by dotted name (dict keys, list indices,
    /// TorchScript module attributes). Depth is bounded by the VM.
    static func flatten(_ v: PickleValue, prefix: String, into out: inout [(String, TensorRef)]) {
        var seen: Set<ObjectIdentifier> = []
        flatten(v, prefix: prefix, into: &out, seen: &seen)
    }

    private static func flatten(_ v: PickleValue, prefix: String, into out: inout [(String, TensorRef)], seen: inout Set<ObjectIdentifier>) {
        func join(_ k: String) -> String { prefix.isEmpty ? k : prefix + "." + k }
        switch v {
        case let .tensor(t): out.append((prefix, t))
        case let .dict(d):
            guard seen.insert(ObjectIdentifier(d)).inserted else { return }
            for (k, val) in d.entries { flatten(val, prefix: join(PickleJSONKey.string(k)), into: &out, seen: &seen) }
        case let .list(l), let .tuple(l):
            guard seen.insert(ObjectIdentifier(l)).inserted else { return }
            for (i, val) in l.items.enumerated() { flatten(val, prefix: join(String(i)), into: &out, seen: &seen) }
        case let .object(o) where isModule(o):
            guard seen.insert(ObjectIdentifier(o)).inserted else { return }
            flattenModule(o, prefix: prefix, into: &out, seen: &seen)
        case let .object(o):
            // TorchScript modules (`__torch__.*`) and other objects with a __dict__ state.
            guard seen.insert(ObjectIdentifier(o)).inserted, let s = o.stateDict else { return }
            for (k, val) in s.entries {
                let name = PickleJSONKey.string(k)
                if name.hasPrefix("_") && !o.type.module.hasPrefix("__torch__") { continue }
                flatten(val, prefix: join(name), into: &out, seen: &seen)
            }
        default: break
        }
    }
}

extension TorchCheckpoint {
    /// A dict, or an object with state (a pickled module): something a state dict can be.
    static func isContainer(_ v: PickleValue) -> Bool {
        switch v {
        case .dict: return true
        case let .object(o): return o.stateDict != nil
        default: return false
        }
    }

    /// A pickled `torch.nn.Module`: its `__dict__` has `_parameters` and `_modules`.
    static func isModule(_ o: PickleObject) -> Bool {
        guard let s = o.stateDict else { return false }
        return s["_parameters"] != nil && s["_modules"] != nil
    }

    /// Tensors as `module.state_dict()` names them: `_parameters` (None skipped), `_buffers`
    /// without `_non_persistent_buffers_set`, then every child of `_modules`, recursively.
    private static func flattenModule(_ o: PickleObject, prefix: String, into out: inout [(String, TensorRef)], seen: inout Set<ObjectIdentifier>) {
        guard let s = o.stateDict else { return }
        func join(_ k: String) -> String { prefix.isEmpty ? k : prefix + "." + k }
        if case let .dict(p)? = s["_parameters"] {
            for (k, v) in p.entries { if case let .tensor(t) = v { out.append((join(PickleJSONKey.string(k)), t)) } }
        }
        var transient = Set<String>()
        if let items = s["_non_persistent_buffers_set"]?.sequenceItems { transient = Set(items.map(PickleJSONKey.string)) }
        if case let .dict(b)? = s["_buffers"] {
            for (k, v) in b.entries {
                let name = PickleJSONKey.string(k)
                if !transient.contains(name), case let .tensor(t) = v { out.append((join(name), t)) }
            }
        }
        if case let .dict(m)? = s["_modules"] {
            for (k, v) in m.entries {
                guard case let .object(child) = v, isModule(child), seen.insert(ObjectIdentifier(child)).inserted else { continue }
                flattenModule(child, prefix: join(PickleJSONKey.string(k)), into: &out, seen: &seen)
            }
        }
    }

    /// (path, class) of a module and its submodules, the module first.
    static func moduleClasses(_ o: PickleObject, prefix: String, into out: inout [(String, String)]) {
        guard out.count < 100_000 else { return }
        out.append((prefix, "\(o.type.module).\(o.type.name)"))
        guard case let .dict(m)? = o.stateDict?["_modules"] else { return }
        for (k, v) in m.entries {
            guard case let .object(child) = v, isModule(child) else { continue }
            moduleClasses(child, prefix: prefix.isEmpty ? PickleJSONKey.string(k) : prefix + "." + PickleJSONKey.string(k), into: &out)
        }
    }
}

/// Dict keys as the strings PyTorch state dicts use.
enum PickleJSONKey {
    static func string(_ k: PickleValue) -> String {
        switch k {
        case let .string(s): return s
        case let .int(i): return String(i)
        case let .bool(b): return b ? "True" : "False"
        case let .float(d): return String(d)
        default: return "<\(k.kindName)>"
        }
    }
}
