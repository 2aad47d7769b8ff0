import Foundation
import PorterCore
import PorterPickle

extension TorchCheckpoint {
    /// Keys under which checkpoints nest their state dict, in the order tried.
    public static let stateDictKeys = ["state_dict", "model_state_dict", "model", "module"]
    /// Top-level keys holding training state, which a port does not carry.
    public static let trainingStateKeys: Set<String> = ["optimizer", "optimizer_history", "last_optimizer_state", "optimizer_state_dict",
                                                        "optimizer_states", "scheduler", "lr_scheduler", "lr_schedulers", "scaler",
                                                        "amp", "rng_state", "rng_states"]

    /// The checkpoint as a neutral model.
    ///
    /// Rule: if the root is a dict with one of `stateDictKeys` holding tensors, that value
    /// is the state dict; its tensors keep their dotted names (nested dicts, lists and
    /// tuples joined with `.`). Tensors elsewhere (optimizer state) go to `dropped`.
    /// Non-tensor top-level entries become `config` (JSON), except `trainingStateKeys`,
    /// which are listed in `notes`. Without such a key the whole root is flattened.
    /// TorchScript modules are flattened by module path; `constants.pkl` tensors are dropped.
    public func neutralModel(sourceFormat: String = "pytorch") throws -> NeutralModel {
        var model = NeutralModel(sourceFormat: sourceFormat, sourceFiles: [path])
        model.notes = notes
        var config: [String: JSONValue] = [:]
        var weights: [(String, TensorRef)] = []
        var dropped: [(String, TensorRef, String)] = []

        if let d = root.dictValue, let key = Self.stateDictKeys.first(where: { d[$0].map(Self.containsTensor) ?? false }), let sd = d[key] {
            Self.flatten(sd, prefix: "", into: &weights)
            for (k, v) in d.entries {
                let name = PickleJSONKey.string(k)
                if name == key { continue }
                var outside: [(String, TensorRef)] = []
                Self.flatten(v, prefix: name, into: &outside)
                let reason = Self.trainingStateKeys.contains(name) ? "training state (`\(name)`), not model weights"
                    : "outside the state dict `\(key)`"
                dropped += outside.map { ($0.0, $0.1, reason) }
                if Self.trainingStateKeys.contains(name) {
                    model.notes.append("training state `\(name)` not carried over")
                } else if !Self.containsTensor(v) {
                    config[name] = v.jsonValue()
                } else {
                    model.notes.append("`\(name)` holds tensors outside the state dict `\(key)`; they were dropped")
                }
            }
            model.notes.append("state dict read from `\(key)`")
        } else {
            Self.flatten(root, prefix: "", into: &weights)
            if let d = root.dictValue {
                for (k, v) in d.entries where !Self.containsTensor(v) {
                    config[PickleJSONKey.string(k)] = v.jsonValue()
                }
            }
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
