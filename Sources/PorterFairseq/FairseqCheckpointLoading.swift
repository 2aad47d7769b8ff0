import Foundation
import PorterCore
import PorterPickle
import PorterPyTorch

extension FairseqCheckpoint {
    /// Top-level entries that hold the model's settings; everything else but `model` is training state.
    public static let settingsKeys: Set<String> = ["args", "cfg"]

    /// Opens a fairseq checkpoint (a torch zip or legacy file) without running anything in
    /// it: `model` must be a dict of tensors; `args`/`cfg` become JSON; the remaining
    /// entries are measured as training state.
    public static func load(_ url: URL) throws -> FairseqCheckpoint {
        let torch = try TorchCheckpoint.open(url)
        let file = url.path
        guard let top = Self.entries(of: torch.root) else {
            throw FairseqError.unexpectedValue(file: file, keyPath: "(root)", expected: "a dict with 'model' and 'args' or 'cfg'",
                                               found: torch.root.kindName)
        }
        guard let modelValue = top.first(where: { $0.key == "model" })?.value else {
            throw FairseqError.missingKey(file: file, keyPath: "model")
        }
        guard let stateDict = Self.entries(of: modelValue) else {
            throw FairseqError.unexpectedValue(file: file, keyPath: "model", expected: "a state dict (name → tensor)", found: modelValue.kindName)
        }
        var model: [(name: String, tensor: TensorRef)] = []
        var seen = Set<String>()
        for (name, value) in stateDict {
            guard let t = value.tensorValue else {
                throw FairseqError.unexpectedValue(file: file, keyPath: "model.\(name)", expected: "a tensor", found: value.kindName)
            }
            guard seen.insert(name).inserted else {
                throw FairseqError.unexpectedValue(file: file, keyPath: "model.\(name)", expected: "a unique name", found: "a repeated key")
            }
            try t.validate(name: "\(file):model.\(name)")
            model.append((name, t))
        }
        var settings: [String: JSONValue] = [:]
        var training: [TrainingState] = []
        for (key, value) in top where key != "model" {
            if settingsKeys.contains(key) {
                settings[key] = value.jsonValue()
            } else {
                var count = 0
                var bytes = 0
                Self.measureTensors(value, count: &count, bytes: &bytes)
                training.append(TrainingState(key: key, tensorBytes: bytes, tensorCount: count))
            }
        }
        return FairseqCheckpoint(file: file, model: model, settings: settings, trainingState: training)
    }

    /// String-keyed entries of a dict (or a dict-like object such as `OrderedDict`), in order.
    static func entries(of value: PickleValue) -> [(key: String, value: PickleValue)]? {
        let raw: [(key: PickleValue, value: PickleValue)]
        switch value {
        case let .dict(d): raw = d.entries
        case let .object(o) where !o.dictItems.isEmpty: raw = o.dictItems
        default: return nil
        }
        var out: [(key: String, value: PickleValue)] = []
        for (k, v) in raw {
            guard let s = k.stringValue else { return nil }
            out.append((s, v))
        }
        return out
    }

    /// Counts tensors and their bytes under `value` (bounded walk; shared containers once).
    static func measureTensors(_ value: PickleValue, count: inout Int, bytes: inout Int) {
        var work = [value]
        var seen = Set<ObjectIdentifier>()
        var budget = 5_000_000
        while let v = work.popLast(), budget > 0 {
            budget -= 1
            switch v {
            case let .tensor(t):
                count += 1
                bytes += t.byteCount
            case let .list(l), let .tuple(l), let .set(l), let .frozenset(l):
                if seen.insert(ObjectIdentifier(l)).inserted { work += l.items }
            case let .dict(d):
                if seen.insert(ObjectIdentifier(d)).inserted { work += d.entries.map(\.value) }
            case let .object(o):
                if seen.insert(ObjectIdentifier(o)).inserted {
                    work.append(o.args)
                    if let s = o.state { work.append(s) }
                    work += o.listItems
                    work += o.dictItems.map(\.value)
                }
            default:
                break
            }
        }
    }
}
