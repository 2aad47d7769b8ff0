import PorterCore

/// A `module.name` reference found by `GLOBAL`, `STACK_GLOBAL` or `INST`. Never resolved to code.
public struct PickleGlobal: Sendable, Hashable, CustomStringConvertible {
    public var module: String
    public var name: String
    public init(module: String, name: String) {
        self.module = module
        self.name = name
    }
    public var description: String { "\(module).\(name)" }
}

/// An integer wider than 64 bits (`LONG`, `LONG1`, `LONG4`), kept exactly as
/// little-endian two's-complement bytes.
public struct PickleBigInt: Sendable, Hashable, CustomStringConvertible {
    public var littleEndianBytes: [UInt8]
    public init(littleEndianBytes: [UInt8]) { self.littleEndianBytes = littleEndianBytes }

    /// The value as `Int64` when it fits.
    public var int64Value: Int64? {
        var bytes = littleEndianBytes
        let negative = (bytes.last ?? 0) & 0x80 != 0
        // Drop redundant sign-extension bytes.
        while bytes.count > 8 {
            let top = bytes[bytes.count - 1]
            let next = bytes[bytes.count - 2]
            if (top == 0 && next & 0x80 == 0) || (top == 0xFF && next & 0x80 != 0) { bytes.removeLast() } else { break }
        }
        guard bytes.count <= 8 else { return nil }
        var v: UInt64 = negative ? ~0 : 0
        for (i, b) in bytes.enumerated() {
            v &= ~(UInt64(0xFF) << (8 * UInt64(i)))
            v |= UInt64(b) << (8 * UInt64(i))
        }
        return Int64(bitPattern: v)
    }

    /// Hexadecimal two's-complement form (most significant byte first), e.g. `0x1950a86a20f9469cfc6c`.
    public var description: String {
        if let v = int64Value { return String(v) }
        var bytes = littleEndianBytes
        while bytes.count > 1 {
            let top = bytes[bytes.count - 1], next = bytes[bytes.count - 2]
            if (top == 0 && next & 0x80 == 0) || (top == 0xFF && next & 0x80 != 0) { bytes.removeLast() } else { break }
        }
        let hex = bytes.reversed().map { String($0, radix: 16).leftPadded(2) }.joined()
        return "0x" + (hex.hasPrefix("0") ? String(hex.dropFirst()) : hex)
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

/// A sequence container (list, tuple, set, frozenset). A class so that pickle's shared
/// references (memo) stay shared and a hostile file cannot make copies explode.
public final class PickleList: @unchecked Sendable {
    public internal(set) var items: [PickleValue]
    /// Nesting height recorded when items were added (hostile-input bound).
    var height: Int = 1
    public init(_ items: [PickleValue]) { self.items = items }
}

/// A dict with its insertion order. Keys that are strings or ints are indexed, so a
/// repeated key replaces the earlier value as in Python.
public final class PickleDict: @unchecked Sendable {
    public internal(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    /// Instance attributes set by `BUILD` (e.g. a state dict's `_metadata`).
    public internal(set) var attributes: PickleValue?
    /// The class when it is not a plain dict (`collections.OrderedDict`, `collections.defaultdict`).
    public internal(set) var type: PickleGlobal?
    private var index: [String: Int] = [:]
    func clearIndex() { index = [:] }
    var height: Int = 1

    public init(type: PickleGlobal? = nil) { self.type = type }

    static func indexKey(_ key: PickleValue) -> String? {
        switch key {
        case let .string(s): return "s" + s
        case let .int(i): return "i\(i)"
        case let .bool(b): return "i\(b ? 1 : 0)"
        default: return nil
        }
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
        if let k = PickleDict.indexKey(key) {
            if let i = index[k] { entries[i].value = value; return }
            index[k] = entries.count
        }
        entries.append((key, value))
    }

    /// The value for a string key.
    public subscript(key: String) -> PickleValue? {
        index["s" + key].map { entries[$0].value }
    }
}

/// An instance of a class Porter does not give behaviour to: its class, the arguments it
/// was created with and the state `BUILD` gave it. Inert data, nothing is called.
public final class PickleObject: @unchecked Sendable {
    public enum Creation: String, Sendable { case reduce, newobj, inst }
    public let type: PickleGlobal
    public let creation: Creation
    public internal(set) var args: PickleValue
    public internal(set) var state: PickleValue?
    public internal(set) var listItems: [PickleValue] = []
    public internal(set) var dictItems: [(key: PickleValue, value: PickleValue)] = []
    var height: Int = 1

    public init(type: PickleGlobal, creation: Creation, args: PickleValue) {
        self.type = type
        self.creation = creation
        self.args = args
    }

    /// The state as a dict (plain `__dict__` state, or the first half of a `(dict, slots)` tuple).
    public var stateDict: PickleDict? {
        switch state {
        case let .dict(d): return d
        case let .tuple(t) where t.items.count == 2:
            if case let .dict(d) = t.items[0] { return d }
            if case let .dict(d) = t.items[1] { return d }
            return nil
        default: return nil
        }
    }
}

/// A storage a persistent id resolved to (filled in by the PyTorch reader).
public struct PickleStorage: Sendable {
    public var storage: TensorStorage
    /// Element type named by the storage class; nil for `UntypedStorage`.
    public var dtype: DType?
    public var byteOrder: ByteOrder
    public var key: String
    public init(storage: TensorStorage, dtype: DType?, byteOrder: ByteOrder, key: String) {
        self.storage = storage
        self.dtype = dtype
        self.byteOrder = byteOrder
        self.key = key
    }
}

/// An inert pickle value. Nothing in it can run: globals are names, objects are data.
public indirect enum PickleValue: @unchecked Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    case bigInt(PickleBigInt)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list(PickleList)
    case tuple(PickleList)
    case dict(PickleDict)
    case set(PickleList)
    case frozenset(PickleList)
    case global(PickleGlobal)
    case object(PickleObject)
    /// A persistent id no hook resolved.
    case persistentID(PickleValue)
    /// A storage a persistent id named (PyTorch).
    case storage(PickleStorage)
    /// A tensor rebuilt from an allow-listed rebuild function (PyTorch).
    case tensor(TensorRef)
    /// Where the pickle put a container inside itself (a cycle, e.g. a list appended to
    /// itself; Python prints it `[...]`): the VM cuts each cycle here, so values form a
    /// graph without cycles that ARC frees and walkers cannot loop in.
    case recursive

    public var stringValue: String? { if case let .string(s) = self { return s }; return nil }
    public var intValue: Int? {
        switch self {
        case let .int(i): return Int(exactly: i)
        case let .bool(b): return b ? 1 : 0
        case let .bigInt(b): return b.int64Value.flatMap { Int(exactly: $0) }
        default: return nil
        }
    }
    public var boolValue: Bool? {
        switch self {
        case let .bool(b): return b
        case let .int(i): return i != 0
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case let .float(d): return d
        case let .int(i): return Double(i)
        default: return nil
        }
    }
    /// Items of a list, tuple, set or frozenset.
    public var sequenceItems: [PickleValue]? {
        switch self {
        case let .list(l), let .tuple(l), let .set(l), let .frozenset(l): return l.items
        default: return nil
        }
    }
    public var dictValue: PickleDict? { if case let .dict(d) = self { return d }; return nil }
    public var objectValue: PickleObject? { if case let .object(o) = self { return o }; return nil }
    public var tensorValue: TensorRef? { if case let .tensor(t) = self { return t }; return nil }

    /// A short name of the kind of value, for messages.
    public var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .set: return "set"
        case .frozenset: return "frozenset"
        case let .global(g): return "global \(g)"
        case let .object(o): return "\(o.type) object"
        case .persistentID: return "persistent id"
        case .storage: return "storage"
        case .tensor: return "tensor"
        case .recursive: return "recursive reference"
        }
    }

    var height: Int {
        switch self {
        case let .list(l), let .tuple(l), let .set(l), let .frozenset(l): return l.height
        case let .dict(d): return d.height
        case let .object(o): return o.height
        case let .persistentID(p): return p.height + 1
        default: return 0
        }
    }
}
