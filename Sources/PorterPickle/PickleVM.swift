import Foundation

/// Bounds that keep a hostile pickle from exhausting memory or stack.
public struct PickleLimits: Sendable {
    /// Values on the stack at once.
    public var maxStack: Int = 1 << 22
    /// Memo entries.
    public var maxMemo: Int = 1 << 22
    /// Nested MARKs.
    public var maxMarks: Int = 10_000
    /// Nesting height of containers in the result.
    public var maxHeight: Int = 1_000
    /// Opcodes executed.
    public var maxOpcodes: Int = 1 << 28
    public init() {}
}

/// What to do with a global that is neither allow-listed nor known to be dangerous.
public enum UnknownGlobalPolicy: Sendable {
    /// Keep it as an inert `PickleObject` (its behaviour is never needed to read weights).
    case inert
    /// Refuse it.
    case refuse
}

/// Callbacks that give allow-listed globals and persistent ids their meaning.
public struct PickleHooks: Sendable {
    /// Resolves a persistent id (`PERSID` / `BINPERSID`); nil keeps `.persistentID`.
    public var persistentLoad: (@Sendable (PickleValue, Int) throws -> PickleValue)?
    /// Gives meaning to `REDUCE` of an allow-listed global (arguments as a tuple value);
    /// return nil to fall back to the generic inert meaning.
    public var reduce: (@Sendable (PickleGlobal, PickleValue, Int) throws -> PickleValue?)?
    /// Gives meaning to `BUILD` (target, state): a value returned replaces the target on the
    /// stack and in the memo (numpy arrays get their data by BUILD); nil builds as usual.
    public var build: (@Sendable (PickleValue, PickleValue, Int) throws -> PickleValue?)?
    public var unknownGlobals: UnknownGlobalPolicy

    public init(persistentLoad: (@Sendable (PickleValue, Int) throws -> PickleValue)? = nil,
                reduce: (@Sendable (PickleGlobal, PickleValue, Int) throws -> PickleValue?)? = nil,
                build: (@Sendable (PickleValue, PickleValue, Int) throws -> PickleValue?)? = nil,
                unknownGlobals: UnknownGlobalPolicy = .inert) {
        self.persistentLoad = persistentLoad
        self.reduce = reduce
        self.build = build
        self.unknownGlobals = unknownGlobals
    }
}

/// An allow-list pickle virtual machine. It builds inert `PickleValue`s and never
/// imports, calls or evaluates anything named in the file.
public enum PickleVM {
    /// Reads one pickle from `bytes[start...]`.
    ///
    /// - Parameters:
    ///   - source: names the input in errors (e.g. `model.pt:archive/data.pkl`).
    ///   - baseOffset: absolute offset of `bytes[0]` in the file, for error messages.
    /// - Returns: the value and the index just past its `STOP`.
    public static func load(_ bytes: [UInt8], source: String, baseOffset: Int = 0, start: Int = 0,
                            hooks: PickleHooks = PickleHooks(), limits: PickleLimits = PickleLimits()) throws -> (value: PickleValue, end: Int) {
        let machine = Machine(bytes: bytes, source: source, baseOffset: baseOffset, start: start, hooks: hooks, limits: limits)
        return try machine.run()
    }

    /// Convenience: the value of a complete pickle.
    public static func value(of bytes: [UInt8], source: String, hooks: PickleHooks = PickleHooks(),
                             limits: PickleLimits = PickleLimits()) throws -> PickleValue {
        try load(bytes, source: source, hooks: hooks, limits: limits).value
    }
}

private final class Machine {
    var cursor: PickleCursor
    let hooks: PickleHooks
    let limits: PickleLimits
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]
    /// Values dropped during the run, released only after the height check so a hostile
    /// chain can never be freed by deep recursion.
    var graveyard: [PickleValue] = []
    var opOffset = 0
    var opName = ""

    init(bytes: [UInt8], source: String, baseOffset: Int, start: Int, hooks: PickleHooks, limits: PickleLimits) {
        cursor = PickleCursor(bytes: bytes, source: source, baseOffset: baseOffset, position: start)
        self.hooks = hooks
        self.limits = limits
    }

    var source: String { cursor.source }

    // MARK: errors
    func mismatch(_ expected: String, _ found: PickleValue) -> PickleError {
        .typeMismatch(source: source, offset: opOffset, opcode: opName, expected: expected, found: found.kindName)
    }
    func malformed(_ reason: String) -> PickleError {
        .malformedArgument(source: source, offset: opOffset, opcode: opName, reason: reason)
    }
    func limit(_ what: String) -> PickleError { .limitExceeded(source: source, offset: opOffset, limit: what) }

    // MARK: stack
    var markBase: Int { marks.last ?? 0 }

    func push(_ v: PickleValue) throws {
        guard stack.count < limits.maxStack else { throw limit("more than \(limits.maxStack) values on the stack") }
        stack.append(v)
    }

    func pop() throws -> PickleValue {
        guard stack.count > markBase else { throw PickleError.stackUnderflow(source: source, offset: opOffset, opcode: opName) }
        return stack.removeLast()
    }

    func top() throws -> PickleValue {
        guard stack.count > markBase, let t = stack.last else { throw PickleError.stackUnderflow(source: source, offset: opOffset, opcode: opName) }
        return t
    }

    func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw PickleError.markMissing(source: source, offset: opOffset, opcode: opName) }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    func checkHeight(_ h: Int) throws {
        if h > limits.maxHeight { throw limit("containers nested deeper than \(limits.maxHeight)") }
    }

    func makeSequence(_ items: [PickleValue]) throws -> PickleList {
        let l = PickleList(items)
        l.height = (items.map(\.height).max() ?? 0) + 1
        try checkHeight(l.height)
        return l
    }

    func grow(_ container: PickleValue, with child: PickleValue) throws {
        let h = child.height + 1
        switch container {
        case let .list(l), let .set(l), let .tuple(l), let .frozenset(l): if h > l.height { l.height = h }
        case let .dict(d): if h > d.height { d.height = h }
        case let .object(o): if h > o.height { o.height = h }
        default: return
        }
        try checkHeight(h)
    }

    // MARK: globals
    func resolveGlobal(module: String, name: String) throws -> PickleGlobal {
        let g = PickleGlobal(module: module, name: name)
        switch PickleSafety.classify(module: module, name: name) {
        case .allowed: return g
        case let .dangerous(reason):
            throw PickleError.dangerousGlobal(source: source, offset: opOffset, global: g.description, reason: reason)
        case .unknown:
            if hooks.unknownGlobals == .refuse {
                throw PickleError.dangerousGlobal(source: source, offset: opOffset, global: g.description, reason: "not on Porter's allow-list")
            }
            return g
        }
    }

    // MARK: run
    func run() throws -> (value: PickleValue, end: Int) {
        do {
            let result = try execute()
            try finalCheck(roots: [result.value])
            return result
        } catch {
            dismantle(stack + Array(memo.values) + graveyard)
            stack = []
            memo = [:]
            graveyard = []
            throw error
        }
    }

    func execute() throws -> (value: PickleValue, end: Int) {
        var executed = 0
        while true {
            opOffset = cursor.absolute
            guard cursor.remaining > 0 else { throw PickleError.missingStop(source: source, offset: opOffset) }
            let byte = try cursor.u8("opcode")
            guard let op = PickleOpcode(rawValue: byte) else {
                throw PickleError.unknownOpcode(source: source, offset: opOffset, opcode: byte)
            }
            opName = op.name
            executed += 1
            if executed > limits.maxOpcodes { throw limit("more than \(limits.maxOpcodes) opcodes") }
            if op == .stop {
                let v = try pop()
                return (v, cursor.position)
            }
            try step(op)
        }
    }

    func step(_ op: PickleOpcode) throws {
        switch op {
        case .stop: break
        case .proto:
            let v = try cursor.u8("protocol")
            guard v <= 5 else { throw malformed("protocol \(v) is newer than 5") }
        case .frame:
            let n = try cursor.le(8, "frame length")
            guard n <= UInt64(cursor.remaining) else { throw cursor.truncated("frame of \(n) bytes") }
        case .mark:
            guard marks.count < limits.maxMarks else { throw limit("more than \(limits.maxMarks) nested MARKs") }
            marks.append(stack.count)
        case .pop:
            if stack.count > markBase { graveyard.append(stack.removeLast()) } else if !marks.isEmpty { marks.removeLast() } else {
                throw PickleError.stackUnderflow(source: source, offset: opOffset, opcode: opName)
            }
        case .popMark: graveyard.append(contentsOf: try popMark())
        case .dup: try push(try top())

        // Scalars
        case .none: try push(.none)
        case .newtrue: try push(.bool(true))
        case .newfalse: try push(.bool(false))
        case .binint: try push(.int(Int64(Int32(truncatingIfNeeded: try cursor.le(4, "BININT")))))
        case .binint1: try push(.int(Int64(try cursor.u8("BININT1"))))
        case .binint2: try push(.int(Int64(try cursor.le(2, "BININT2"))))
        case .int:
            let text = PickleText.ascii(try cursor.line("INT"))
            if text == "01" { try push(.bool(true)) } else if text == "00" { try push(.bool(false)) } else {
                guard let v = PickleText.decimal(text) else { throw malformed("'\(text.prefix(40))' is not an integer") }
                try push(v)
            }
        case .long:
            let text = PickleText.ascii(try cursor.line("LONG"))
            guard let v = PickleText.decimal(text) else { throw malformed("'\(text.prefix(40))' is not an integer") }
            try push(v)
        case .long1:
            let n = try cursor.u8("LONG1 length")
            try push(PickleText.long(fromLittleEndian: Array(try cursor.take(UInt64(n), "LONG1"))))
        case .long4:
            let n = Int32(truncatingIfNeeded: try cursor.le(4, "LONG4 length"))
            guard n >= 0 else { throw malformed("negative length \(n)") }
            try push(PickleText.long(fromLittleEndian: Array(try cursor.take(UInt64(n), "LONG4"))))
        case .float:
            let text = PickleText.ascii(try cursor.line("FLOAT"))
            guard let d = Double(text) else { throw malformed("'\(text.prefix(40))' is not a float") }
            try push(.float(d))
        case .binfloat:
            let bits = try cursor.take(8, "BINFLOAT").reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }  // big-endian
            try push(.float(Double(bitPattern: bits)))

        // Strings and bytes
        case .string:
            guard let b = PickleText.quoted(try cursor.line("STRING")) else { throw malformed("not a quoted string") }
            try push(.string(PickleText.string(b[...])))
        case .binstring:
            let n = Int32(truncatingIfNeeded: try cursor.le(4, "BINSTRING length"))
            guard n >= 0 else { throw malformed("negative length \(n)") }
            try push(.string(PickleText.string(try cursor.take(UInt64(n), "BINSTRING"))))
        case .shortBinstring:
            let n = try cursor.u8("SHORT_BINSTRING length")
            try push(.string(PickleText.string(try cursor.take(UInt64(n), "SHORT_BINSTRING"))))
        case .unicode:
            guard let s = PickleText.rawUnicodeEscape(try cursor.line("UNICODE")) else { throw malformed("bad raw-unicode-escape text") }
            try push(.string(s))
        case .binunicode: try push(try utf8(try cursor.take(try cursor.le(4, "BINUNICODE length"), "BINUNICODE")))
        case .shortBinunicode: try push(try utf8(try cursor.take(UInt64(try cursor.u8("SHORT_BINUNICODE length")), "SHORT_BINUNICODE")))
        case .binunicode8: try push(try utf8(try cursor.take(try cursor.le(8, "BINUNICODE8 length"), "BINUNICODE8")))
        case .binbytes: try push(.bytes(Array(try cursor.take(try cursor.le(4, "BINBYTES length"), "BINBYTES"))))
        case .shortBinbytes: try push(.bytes(Array(try cursor.take(UInt64(try cursor.u8("SHORT_BINBYTES length")), "SHORT_BINBYTES"))))
        case .binbytes8: try push(.bytes(Array(try cursor.take(try cursor.le(8, "BINBYTES8 length"), "BINBYTES8"))))
        case .bytearray8: try push(.bytes(Array(try cursor.take(try cursor.le(8, "BYTEARRAY8 length"), "BYTEARRAY8"))))
        case .nextBuffer, .readonlyBuffer:
            throw PickleError.unsupportedOpcode(source: source, offset: opOffset, opcode: opName,
                                                reason: "out-of-band buffers are not part of a checkpoint file")

        // Containers
        case .emptyList: try push(.list(PickleList([])))
        case .emptyTuple: try push(.tuple(PickleList([])))
        case .emptyDict: try push(.dict(PickleDict()))
        case .emptySet: try push(.set(PickleList([])))
        case .list: try push(.list(try makeSequence(try popMark())))
        case .tuple: try push(.tuple(try makeSequence(try popMark())))
        case .frozenset: try push(.frozenset(try makeSequence(try popMark())))
        case .tuple1:
            let a = try pop()
            try push(.tuple(try makeSequence([a])))
        case .tuple2:
            let b = try pop(), a = try pop()
            try push(.tuple(try makeSequence([a, b])))
        case .tuple3:
            let c = try pop(), b = try pop(), a = try pop()
            try push(.tuple(try makeSequence([a, b, c])))
        case .dict:
            let items = try popMark()
            guard items.count % 2 == 0 else { throw malformed("odd number of items for a dict") }
            let d = PickleDict()
            let v = PickleValue.dict(d)
            for i in stride(from: 0, to: items.count, by: 2) {
                d.set(items[i], items[i + 1])
                try grow(v, with: items[i + 1])
                try grow(v, with: items[i])
            }
            try push(v)
        case .append:
            let item = try pop()
            try append([item], to: try top())
        case .appends:
            let items = try popMark()
            try append(items, to: try top())
        case .additems:
            let items = try popMark()
            let target = try top()
            guard case let .set(s) = target else { throw mismatch("a set", target) }
            for i in items { try grow(target, with: i) }
            s.items.append(contentsOf: items)
        case .setitem:
            let value = try pop(), key = try pop()
            try setItems([key, value], on: try top())
        case .setitems:
            let items = try popMark()
            guard items.count % 2 == 0 else { throw malformed("odd number of items for SETITEMS") }
            try setItems(items, on: try top())

        // Memo
        case .put:
            let text = PickleText.ascii(try cursor.line("PUT index"))
            guard let i = Int(text), i >= 0 else { throw malformed("bad memo index '\(text.prefix(20))'") }
            try store(i)
        case .binput: try store(Int(try cursor.u8("BINPUT index")))
        case .longBinput: try store(Int(try cursor.le(4, "LONG_BINPUT index")))
        case .memoize: try store(memo.count)
        case .get:
            let text = PickleText.ascii(try cursor.line("GET index"))
            guard let i = Int(text), i >= 0 else { throw malformed("bad memo index '\(text.prefix(20))'") }
            try fetch(i)
        case .binget: try fetch(Int(try cursor.u8("BINGET index")))
        case .longBinget: try fetch(Int(try cursor.le(4, "LONG_BINGET index")))

        // Globals and objects
        case .global:
            let module = PickleText.string(try cursor.line("GLOBAL module"))
            let name = PickleText.string(try cursor.line("GLOBAL name"))
            try push(.global(try resolveGlobal(module: module, name: name)))
        case .stackGlobal:
            let name = try pop(), module = try pop()
            guard case let .string(n) = name, case let .string(m) = module else {
                throw mismatch("two strings (module, name)", module.stringValue == nil ? module : name)
            }
            try push(.global(try resolveGlobal(module: m, name: n)))
        case .inst:
            let module = PickleText.string(try cursor.line("INST module"))
            let name = PickleText.string(try cursor.line("INST name"))
            let g = try resolveGlobal(module: module, name: name)
            let args = try popMark()
            try push(try construct(g, args: .tuple(try makeSequence(args)), creation: .inst))
        case .obj:
            var items = try popMark()
            guard !items.isEmpty else { throw PickleError.stackUnderflow(source: source, offset: opOffset, opcode: opName) }
            let cls = items.removeFirst()
            guard case let .global(g) = cls else { throw mismatch("a class", cls) }
            try push(try construct(g, args: .tuple(try makeSequence(items)), creation: .newobj))
        case .reduce:
            let args = try pop(), callable = try pop()
            guard case let .global(g) = callable else { throw mismatch("an allow-listed callable", callable) }
            guard case .tuple = args else { throw mismatch("an argument tuple", args) }
            if let hook = hooks.reduce, let v = try hook(g, args, opOffset) {
                try push(v)
            } else {
                try push(try construct(g, args: args, creation: .reduce))
            }
        case .newobj:
            let args = try pop(), cls = try pop()
            guard case let .global(g) = cls else { throw mismatch("a class", cls) }
            try push(try construct(g, args: args, creation: .newobj))
        case .newobjEx:
            let kwargs = try pop(), args = try pop(), cls = try pop()
            guard case let .global(g) = cls else { throw mismatch("a class", cls) }
            try push(try construct(g, args: .tuple(try makeSequence([args, kwargs])), creation: .newobj))
        case .build:
            let state = try pop()
            let target = try top()
            if let hook = hooks.build, let replaced = try hook(target, state, opOffset) {
                stack[stack.count - 1] = replaced
                if case let .object(o) = target {
                    for (k, v) in memo { if case let .object(m) = v, m === o { memo[k] = replaced } }
                }
            } else {
                try build(target, state: state)
            }
        case .persid:
            let id = PickleText.string(try cursor.line("PERSID"))
            try push(try persistent(.string(id)))
        case .binpersid:
            try push(try persistent(try pop()))
        case .ext1, .ext2, .ext4:
            throw PickleError.unsupportedOpcode(source: source, offset: opOffset, opcode: opName,
                                                reason: "the copyreg extension registry names code by number; Porter does not resolve it")
        }
    }

    func utf8(_ bytes: ArraySlice<UInt8>) throws -> PickleValue {
        guard let s = String(validating: bytes, as: UTF8.self) else { throw malformed("string is not valid UTF-8") }
        return .string(s)
    }

    func store(_ index: Int) throws {
        let v = try top()
        if let old = memo.updateValue(v, forKey: index) { graveyard.append(old) }
        if memo.count > limits.maxMemo { throw limit("more than \(limits.maxMemo) memo entries") }
    }

    func fetch(_ index: Int) throws {
        guard let v = memo[index] else { throw PickleError.memoMissing(source: source, offset: opOffset, index: index) }
        try push(v)
    }

    func append(_ items: [PickleValue], to target: PickleValue) throws {
        switch target {
        case let .list(l):
            for i in items { try grow(target, with: i) }
            l.items.append(contentsOf: items)
        case let .object(o):
            for i in items { try grow(target, with: i) }
            o.listItems.append(contentsOf: items)
        default: throw mismatch("a list", target)
        }
    }

    func setItems(_ items: [PickleValue], on target: PickleValue) throws {
        switch target {
        case let .dict(d):
            for i in stride(from: 0, to: items.count, by: 2) {
                try grow(target, with: items[i])
                try grow(target, with: items[i + 1])
                d.set(items[i], items[i + 1])
            }
        case let .object(o):
            for i in stride(from: 0, to: items.count, by: 2) {
                try grow(target, with: items[i])
                try grow(target, with: items[i + 1])
                o.dictItems.append((items[i], items[i + 1]))
            }
        default: throw mismatch("a dict", target)
        }
    }

    func build(_ target: PickleValue, state: PickleValue) throws {
        try grow(target, with: state)
        switch target {
        case let .object(o):
            if let existing = o.stateDict, case let .dict(new) = state {
                for (k, v) in new.entries { existing.set(k, v) }
            } else {
                o.state = state
            }
        case let .dict(d):
            d.attributes = state
        default:
            // Plain data (a tensor, a list) given extra state: keep the value, ignore the state.
            graveyard.append(state)
        }
    }

    func persistent(_ id: PickleValue) throws -> PickleValue {
        if let load = hooks.persistentLoad { return try load(id, opOffset) }
        return .persistentID(id)
    }

    /// The inert meaning of calling or instantiating `g` with `args`.
    func construct(_ g: PickleGlobal, args: PickleValue, creation: PickleObject.Creation) throws -> PickleValue {
        let items = args.sequenceItems ?? []
        switch g.description {
        case "collections.OrderedDict", "builtins.dict", "__builtin__.dict", "collections.defaultdict", "collections.Counter":
            let d = PickleDict(type: g.description.hasSuffix(".dict") ? nil : g)
            let v = PickleValue.dict(d)
            // OrderedDict(pairs) / dict(mapping): copy the pairs; defaultdict(factory) has no items.
            if g.name != "defaultdict", let first = items.first {
                if case let .dict(src) = first {
                    for (k, val) in src.entries { d.set(k, val) }
                } else if let pairs = first.sequenceItems {
                    for p in pairs {
                        guard let kv = p.sequenceItems, kv.count == 2 else { throw malformed("\(g) expects (key, value) pairs") }
                        d.set(kv[0], kv[1])
                    }
                }
                try grow(v, with: first)
            }
            return v
        case "builtins.set", "__builtin__.set", "builtins.frozenset", "__builtin__.frozenset", "builtins.list",
             "__builtin__.list", "builtins.tuple", "__builtin__.tuple", "torch.Size", "collections.deque":
            let elements = items.first?.sequenceItems ?? []
            let l = try makeSequence(elements)
            switch g.name {
            case "set": return .set(l)
            case "frozenset": return .frozenset(l)
            case "list", "deque": return .list(l)
            default: return .tuple(l)
            }
        case "_codecs.encode":
            guard let s = items.first?.stringValue else { throw malformed("_codecs.encode expects a string") }
            let encoding = (items.count > 1 ? items[1].stringValue : nil)?.lowercased() ?? "utf-8"
            if encoding == "latin1" || encoding == "latin-1" || encoding == "iso-8859-1" {
                var out: [UInt8] = []
                out.reserveCapacity(s.unicodeScalars.count)
                for u in s.unicodeScalars {
                    guard u.value < 256 else { throw malformed("character U+\(String(u.value, radix: 16)) is not latin-1") }
                    out.append(UInt8(u.value))
                }
                return .bytes(out)
            }
            return .bytes(Array(s.utf8))
        case "builtins.bytearray", "__builtin__.bytearray", "builtins.bytes":
            if case let .bytes(b)? = items.first { return .bytes(b) }
            if items.isEmpty { return .bytes([]) }
            if let ints = items.first?.sequenceItems {
                return .bytes(try ints.map { v in
                    guard let i = v.intValue, (0...255).contains(i) else { throw malformed("bytearray item out of range") }
                    return UInt8(i)
                })
            }
            if let s = items.first?.stringValue { return .bytes(Array(s.utf8)) }
            throw malformed("unsupported bytearray argument \(items.first?.kindName ?? "")")
        default:
            let o = PickleObject(type: g, creation: creation, args: args)
            let v = PickleValue.object(o)
            try grow(v, with: args)
            return v
        }
    }

    // MARK: hostile-structure defence

    /// Computes the exact nesting height of everything the run built (memo tricks can
    /// nest containers after they were inserted); on excess, frees it iteratively.
    func finalCheck(roots: [PickleValue]) throws {
        let all = roots + stack + Array(memo.values) + graveyard
        var backEdges: [PickleGraph.Edge] = []
        let height = PickleGraph.maxHeight(all, cap: limits.maxHeight + 1, backEdges: &backEdges)
        // A container that (through its children) holds itself would never be freed by ARC:
        // cut each cycle at its back edge so the values form a graph without cycles.
        for edge in backEdges { PickleGraph.replaceChild(of: edge.parent, at: edge.index, with: .recursive) }
        if height > limits.maxHeight {
            opOffset = cursor.absolute
            throw limit("containers nested deeper than \(limits.maxHeight)")
        }
    }

    func dismantle(_ values: [PickleValue]) {
        PickleGraph.dismantle(values)
    }
}

/// Walks pickle value graphs without recursion.
enum PickleGraph {
    static func children(_ v: PickleValue) -> [PickleValue] {
        switch v {
        case let .list(l), let .tuple(l), let .set(l), let .frozenset(l): return l.items
        case let .dict(d):
            var out: [PickleValue] = []
            out.reserveCapacity(d.entries.count * 2 + 1)
            for (k, val) in d.entries { out.append(k); out.append(val) }
            if let a = d.attributes { out.append(a) }
            return out
        case let .object(o):
            var out = [o.args] + o.listItems
            for (k, val) in o.dictItems { out.append(k); out.append(val) }
            if let s = o.state { out.append(s) }
            return out
        case let .persistentID(p): return [p]
        default: return []
        }
    }

    static func identity(_ v: PickleValue) -> ObjectIdentifier? {
        switch v {
        case let .list(l), let .tuple(l), let .set(l), let .frozenset(l): return ObjectIdentifier(l)
        case let .dict(d): return ObjectIdentifier(d)
        case let .object(o): return ObjectIdentifier(o)
        default: return nil
        }
    }

    /// A child slot of a container: `index` counts as `children(parent)` lists them.
    struct Edge { var parent: PickleValue; var index: Int }

    /// Longest chain of nested containers (cycles count once), stopping early past `cap`;
    /// also collects every edge that points back at a container still on the walk's path
    /// (each cycle has at least one). A back edge found through a persistent id is
    /// reported as the slot of the enclosing container that holds the id.
    static func maxHeight(_ roots: [PickleValue], cap: Int, backEdges: inout [Edge]) -> Int {
        var done: [ObjectIdentifier: Int] = [:]
        var onPath: Set<ObjectIdentifier> = []
        var best = 0
        // Frame: the container (nil for a persistent id), its children, next child index, running max.
        struct Frame { var id: ObjectIdentifier?; var value: PickleValue?; var kids: [PickleValue]; var next: Int; var maxChild: Int }
        for root in roots {
            var frames: [Frame] = []
            func enter(_ v: PickleValue) -> Int? {
                // Returns a known height, or nil after pushing a frame.
                guard let id = identity(v) else {
                    if case let .persistentID(p) = v {
                        frames.append(Frame(id: nil, value: nil, kids: [p], next: 0, maxChild: 0))
                        return nil
                    }
                    return 0
                }
                if let h = done[id] { return h }
                if onPath.contains(id) {
                    if let slot = frames.last(where: { $0.value != nil }), let parent = slot.value {
                        backEdges.append(Edge(parent: parent, index: slot.next - 1))
                    }
                    return 0
                }
                onPath.insert(id)
                frames.append(Frame(id: id, value: v, kids: children(v), next: 0, maxChild: 0))
                return nil
            }
            if let h = enter(root) { best = max(best, h); continue }
            while let last = frames.indices.last {
                if frames.count > cap { return cap }
                if frames[last].next < frames[last].kids.count {
                    let child = frames[last].kids[frames[last].next]
                    frames[last].next += 1
                    if let h = enter(child) { frames[last].maxChild = max(frames[last].maxChild, h) }
                } else {
                    let f = frames.removeLast()
                    let h = f.maxChild + 1
                    if let id = f.id { done[id] = h; onPath.remove(id) }
                    if h >= cap { return cap }
                    if let parent = frames.indices.last { frames[parent].maxChild = max(frames[parent].maxChild, h) } else { best = max(best, h) }
                }
            }
        }
        return best
    }

    /// Puts `value` into the child slot `index` of `parent` (numbered as `children` lists them).
    static func replaceChild(of parent: PickleValue, at index: Int, with value: PickleValue) {
        switch parent {
        case let .list(l), let .tuple(l), let .set(l), let .frozenset(l):
            if l.items.indices.contains(index) { l.items[index] = value }
        case let .dict(d):
            let pair = index / 2
            if d.entries.indices.contains(pair) {
                if index % 2 == 0 { d.entries[pair].key = value } else { d.entries[pair].value = value }
            } else if index == 2 * d.entries.count {
                d.attributes = value
            }
        case let .object(o):
            var i = index
            if i == 0 { o.args = value; return }
            i -= 1
            if o.listItems.indices.contains(i) { o.listItems[i] = value; return }
            i -= o.listItems.count
            let pair = i / 2
            if o.dictItems.indices.contains(pair) {
                if i % 2 == 0 { o.dictItems[pair].key = value } else { o.dictItems[pair].value = value }
                return
            }
            if i == 2 * o.dictItems.count { o.state = value }
        default:
            return
        }
    }

    /// Empties every container reachable from `roots` breadth-first, so releasing them
    /// never recurses deeply.
    static func dismantle(_ roots: [PickleValue]) {
        var work = roots
        var seen: Set<ObjectIdentifier> = []
        while let v = work.popLast() {
            guard let id = identity(v), !seen.contains(id) else {
                if case let .persistentID(p) = v { work.append(p) }
                continue
            }
            seen.insert(id)
            work.append(contentsOf: children(v))
            switch v {
            case let .list(l), let .tuple(l), let .set(l), let .frozenset(l): l.items = []
            case let .dict(d): d.clearAll()
            case let .object(o): o.listItems = []; o.dictItems = []; o.state = nil; o.args = .none
            default: break
            }
        }
    }
}

extension PickleDict {
    func clearAll() {
        entries = []
        attributes = nil
        clearIndex()
    }
}
