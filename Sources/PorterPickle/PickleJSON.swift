import Foundation
import PorterCore

extension PickleValue {
    /// The value as JSON for a model's config: `argparse.Namespace` becomes its attributes,
    /// omegaconf `DictConfig`/`ListConfig` their content, other objects
    /// `{"__class__": …, "state"/"args": …}`, tensors a `{"__tensor__": dtype, "shape": …}` summary,
    /// big ints and non-finite floats strings. Cycles become `"<cycle>"`; nesting stops at `maxDepth`.
    public func jsonValue(maxDepth: Int = 64) -> JSONValue {
        var budget = 200_000
        var path: Set<ObjectIdentifier> = []
        return PickleJSONConverter.convert(self, depth: maxDepth, budget: &budget, path: &path)
    }
}

enum PickleJSONConverter {
    static func key(_ v: PickleValue) -> String {
        switch v {
        case let .string(s): return s
        case let .int(i): return String(i)
        case let .bool(b): return b ? "True" : "False"
        case let .float(d): return String(d)
        case .none: return "None"
        case let .bigInt(b): return b.description
        case let .global(g): return g.description
        default: return "<\(v.kindName)>"
        }
    }

    static func convert(_ v: PickleValue, depth: Int, budget: inout Int, path: inout Set<ObjectIdentifier>) -> JSONValue {
        budget -= 1
        if budget < 0 { return .string("<truncated>") }
        if depth <= 0 { return .string("<nested too deep>") }
        if let id = PickleGraph.identity(v) {
            if path.contains(id) { return .string("<cycle>") }
            path.insert(id)
        }
        defer { if let id = PickleGraph.identity(v) { path.remove(id) } }
        switch v {
        case .none: return .null
        case .recursive: return .string("<cycle>")
        case let .bool(b): return .bool(b)
        case let .int(i): return .int(i)
        case let .bigInt(b): return .string(b.description)
        case let .float(d): return d.isFinite ? .double(d) : .string(String(d))
        case let .string(s): return .string(s)
        case let .bytes(b): return .string("<\(b.count) bytes>")
        case let .list(l), let .tuple(l), let .set(l), let .frozenset(l):
            return .array(l.items.map { convert($0, depth: depth - 1, budget: &budget, path: &path) })
        case let .dict(d):
            var o: [String: JSONValue] = [:]
            for (k, val) in d.entries { o[key(k)] = convert(val, depth: depth - 1, budget: &budget, path: &path) }
            return .object(o)
        case let .global(g): return .string(g.description)
        case let .persistentID(p): return .object(["__persistent_id__": convert(p, depth: depth - 1, budget: &budget, path: &path)])
        case let .storage(s): return .object(["__storage__": .string(s.key)])
        case let .tensor(t):
            return .object(["__tensor__": .string(t.dtype.rawValue), "shape": .array(t.shape.dims.map { .int(Int64($0)) })])
        case let .object(o):
            let cls = o.type.description
            if o.type.name == "scalar", o.type.module.hasPrefix("numpy"), let n = numpyScalar(o) { return n }
            let state = o.stateDict
            if o.type.module.hasPrefix("omegaconf") {
                if let content = state?["_content"] {
                    return convert(content, depth: depth - 1, budget: &budget, path: &path)
                }
                if let val = state?["_val"] { return convert(val, depth: depth - 1, budget: &budget, path: &path) }
            }
            if cls == "argparse.Namespace", let state {
                return convert(.dict(state), depth: depth - 1, budget: &budget, path: &path)
            }
            var out: [String: JSONValue] = ["__class__": .string(cls)]
            if let s = o.state { out["state"] = convert(s, depth: depth - 1, budget: &budget, path: &path) }
            if let items = o.args.sequenceItems, !items.isEmpty {
                out["args"] = convert(o.args, depth: depth - 1, budget: &budget, path: &path)
            }
            if !o.listItems.isEmpty { out["items"] = .array(o.listItems.map { convert($0, depth: depth - 1, budget: &budget, path: &path) }) }
            if !o.dictItems.isEmpty {
                var d: [String: JSONValue] = [:]
                for (k, val) in o.dictItems { d[key(k)] = convert(val, depth: depth - 1, budget: &budget, path: &path) }
                out["entries"] = .object(d)
            }
            return .object(out)
        }
    }

    /// `numpy.core.multiarray.scalar(dtype, bytes)` for bool, int and float kinds, as a JSON number.
    static func numpyScalar(_ o: PickleObject) -> JSONValue? {
        guard let args = o.args.sequenceItems, args.count == 2, case let .object(dt) = args[0], case let .bytes(raw) = args[1],
              dt.type.name == "dtype", let code = dt.args.sequenceItems?.first?.stringValue, let kind = code.first,
              let width = Int(code.dropFirst()), width == raw.count, [1, 2, 4, 8].contains(width) else { return nil }
        var bytes = raw
        if let order = dt.state?.sequenceItems?.dropFirst().first?.stringValue, order == ">" { bytes.reverse() }
        var bits: UInt64 = 0
        for (i, b) in bytes.enumerated() { bits |= UInt64(b) << (8 * UInt64(i)) }
        switch kind {
        case "b": return .bool(bits != 0)
        case "u": return bits <= UInt64(Int64.max) ? .int(Int64(bits)) : .string(String(bits))
        case "i":
            let shift = UInt64(64 - 8 * width)
            return .int(Int64(bitPattern: bits << shift) >> Int64(shift))
        case "f":
            switch width {
            case 8: let d = Double(bitPattern: bits); return d.isFinite ? .double(d) : .string(String(d))
            case 4: let d = Double(Float(bitPattern: UInt32(bits))); return d.isFinite ? .double(d) : .string(String(d))
            case 2: let d = Double(Float(Float16(bitPattern: UInt16(bits)))); return d.isFinite ? .double(d) : .string(String(d))
            default: return nil
            }
        default: return nil
        }
    }
}
