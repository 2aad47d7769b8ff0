import Foundation
import PorterCore

/// Inventories globals and opcodes of pickles without building any values, and
/// classifies them. `STACK_GLOBAL` names are tracked through the stack and memo, so
/// names assembled from memoised strings are classified like literal ones.
public enum PickleScanner {
    /// Scans the pickle that starts at `start`; returns the index after its STOP (or nil
    /// when it could not be followed to the end).
    @discardableResult
    public static func scanPickle(_ bytes: [UInt8], start: Int = 0, baseOffset: Int = 0, name: String,
                                  into report: inout ScanReport, nestingLevel: Int = 0,
                                  torchScriptClasses: Bool = false) -> Int? {
        report.pickles.append(name)
        enum Sym { case str(String), other }
        var stack: [Sym] = []
        var marks: [Int] = []
        var memo: [Int: Sym] = [:]
        var cursor = PickleCursor(bytes: bytes, source: name, baseOffset: baseOffset, position: start)
        var globalsIndex: [String: Int] = [:]

        func noteGlobal(_ module: String, _ gname: String, at offset: Int) {
            let full = "\(module).\(gname)"
            let cls = PickleSafety.classify(module: module, name: gname)
            let label: String
            // In a TorchScript archive `__torch__.…` names TorchScript classes, which
            // torch.jit.load compiles from the archive's code/ (TorchScript, not Python):
            // no Python import happens. Any other global is classified as usual.
            let scriptClass = torchScriptClasses && (module == "__torch__" || module.hasPrefix("__torch__."))
            switch scriptClass ? .allowed : cls {
            case .allowed: label = scriptClass ? "torchscript" : "allowed"
            case .unknown:
                label = "unknown"
                report.add(ScanFinding(verdict: .review, reason: "unknown global \(full) (kept as inert data by Porter)", pickle: name, offset: offset))
            case let .dangerous(reason):
                label = "dangerous"
                report.add(ScanFinding(verdict: .dangerous, reason: "dangerous global \(full): \(reason)", pickle: name, offset: offset))
            }
            let key = name + "\u{0}" + full
            if let i = globalsIndex[key] { report.globals[i].count += 1 } else {
                globalsIndex[key] = report.globals.count
                report.globals.append(ScannedGlobal(global: full, classification: label, count: 1, pickle: name, firstOffset: offset))
            }
        }

        func embedded(_ data: ArraySlice<UInt8>, at offset: Int) {
            guard data.count >= 3, data.first == 0x80, let p = data.dropFirst().first, p <= 5, data.last == 0x2E else { return }
            guard nestingLevel < 3 else {
                report.add(ScanFinding(verdict: .review, reason: "pickles nested more than 3 deep", pickle: name, offset: offset))
                return
            }
            var inner = ScanReport(path: report.path, format: "pickle")
            let innerName = "\(name)@\(offset)"
            scanPickle(Array(data), baseOffset: 0, name: innerName, into: &inner, nestingLevel: nestingLevel + 1)
            report.pickles.append(contentsOf: inner.pickles)
            for g in inner.globals { report.globals.append(g) }
            for f in inner.findings { report.add(f) }
            let verdict: ScanVerdict = inner.verdict == .dangerous ? .dangerous : .review
            report.add(ScanFinding(verdict: verdict, reason: "bytes at byte \(offset) hold an embedded pickle (verdict \(inner.verdict.rawValue)); a loader that unpickles it would run it",
                                   pickle: name, offset: offset))
        }

        func malformed(_ why: String, _ offset: Int) -> Int? {
            report.add(ScanFinding(verdict: .review, reason: "malformed pickle: \(why)", pickle: name, offset: offset))
            return nil
        }

        var opCount = 0
        while true {
            let offset = cursor.absolute
            guard cursor.remaining > 0 else { return malformed("ends without STOP", offset) }
            let byte = bytes[cursor.position]
            cursor.position += 1
            guard let op = PickleOpcode(rawValue: byte) else { return malformed("unknown opcode 0x\(String(byte, radix: 16))", offset) }
            opCount += 1
            if opCount > 1 << 28 { return malformed("too many opcodes", offset) }
            report.opcodeCounts[op.name, default: 0] += 1
            func popN(_ n: Int) -> Bool {
                let base = marks.last ?? 0
                guard stack.count - base >= n else { return false }
                stack.removeLast(n)
                return true
            }
            func popToMark() -> Bool {
                guard let m = marks.popLast() else { return false }
                stack.removeSubrange(m...)
                return true
            }
            do {
                switch op {
                case .stop:
                    guard popN(1) else { return malformed("STOP with an empty stack", offset) }
                    return cursor.position
                case .proto: _ = try cursor.u8("protocol")
                case .frame: _ = try cursor.le(8, "frame")
                case .mark:
                    guard marks.count < 10_000 else { return malformed("too many nested MARKs", offset) }
                    marks.append(stack.count)
                case .pop:
                    if !popN(1) { guard marks.popLast() != nil else { return malformed("POP on an empty stack", offset) } }
                case .popMark: guard popToMark() else { return malformed("POP_MARK without MARK", offset) }
                case .dup:
                    guard let t = stack.last, stack.count > (marks.last ?? 0) else { return malformed("DUP on an empty stack", offset) }
                    stack.append(t)
                case .none, .newtrue, .newfalse: stack.append(.other)
                case .binint: _ = try cursor.le(4, "BININT"); stack.append(.other)
                case .binint1: _ = try cursor.u8("BININT1"); stack.append(.other)
                case .binint2: _ = try cursor.le(2, "BININT2"); stack.append(.other)
                case .binfloat: _ = try cursor.take(8, "BINFLOAT"); stack.append(.other)
                case .int, .long, .float: _ = try cursor.line(op.name); stack.append(.other)
                case .long1: _ = try cursor.take(UInt64(try cursor.u8("LONG1")), "LONG1"); stack.append(.other)
                case .long4: _ = try cursor.take(try cursor.le(4, "LONG4"), "LONG4"); stack.append(.other)
                case .string:
                    let b = PickleText.quoted(try cursor.line("STRING")) ?? []
                    stack.append(.str(PickleText.string(b[...])))
                case .binstring:
                    let b = try cursor.take(try cursor.le(4, "BINSTRING"), "BINSTRING")
                    embedded(b, at: offset)
                    stack.append(.str(PickleText.string(b)))
                case .shortBinstring:
                    let b = try cursor.take(UInt64(try cursor.u8("SHORT_BINSTRING")), "SHORT_BINSTRING")
                    embedded(b, at: offset)
                    stack.append(.str(PickleText.string(b)))
                case .unicode: stack.append(.str(PickleText.rawUnicodeEscape(try cursor.line("UNICODE")) ?? ""))
                case .binunicode: stack.append(.str(PickleText.string(try cursor.take(try cursor.le(4, "BINUNICODE"), "BINUNICODE"))))
                case .shortBinunicode:
                    stack.append(.str(PickleText.string(try cursor.take(UInt64(try cursor.u8("SHORT_BINUNICODE")), "SHORT_BINUNICODE"))))
                case .binunicode8: stack.append(.str(PickleText.string(try cursor.take(try cursor.le(8, "BINUNICODE8"), "BINUNICODE8"))))
                case .binbytes, .shortBinbytes, .binbytes8, .bytearray8:
                    let n: UInt64
                    switch op {
                    case .binbytes: n = try cursor.le(4, op.name)
                    case .shortBinbytes: n = UInt64(try cursor.u8(op.name))
                    default: n = try cursor.le(8, op.name)
                    }
                    embedded(try cursor.take(n, op.name), at: offset)
                    stack.append(.other)
                case .nextBuffer:
                    report.add(ScanFinding(verdict: .review, reason: "out-of-band buffer (NEXT_BUFFER)", pickle: name, offset: offset))
                    stack.append(.other)
                case .readonlyBuffer: break
                case .emptyList, .emptyTuple, .emptyDict, .emptySet: stack.append(.other)
                case .list, .tuple, .dict, .frozenset:
                    guard popToMark() else { return malformed("\(op.name) without MARK", offset) }
                    stack.append(.other)
                case .tuple1, .tuple2, .tuple3:
                    guard popN(Int(op.rawValue - 0x84)) else { return malformed("\(op.name) stack underflow", offset) }
                    stack.append(.other)
                case .append, .build:
                    guard popN(1), stack.count > (marks.last ?? 0) else { return malformed("\(op.name) stack underflow", offset) }
                case .setitem:
                    guard popN(2), stack.count > (marks.last ?? 0) else { return malformed("SETITEM stack underflow", offset) }
                case .appends, .setitems, .additems:
                    guard popToMark(), !stack.isEmpty else { return malformed("\(op.name) without MARK", offset) }
                case .put, .binput, .longBinput, .memoize:
                    let index: Int
                    switch op {
                    case .put: index = Int(PickleText.ascii(try cursor.line("PUT"))) ?? -1
                    case .binput: index = Int(try cursor.u8("BINPUT"))
                    case .longBinput: index = Int(try cursor.le(4, "LONG_BINPUT"))
                    default: index = memo.count
                    }
                    guard let t = stack.last, stack.count > (marks.last ?? 0) else { return malformed("\(op.name) on an empty stack", offset) }
                    memo[index] = t
                case .get, .binget, .longBinget:
                    let index: Int
                    switch op {
                    case .get: index = Int(PickleText.ascii(try cursor.line("GET"))) ?? -1
                    case .binget: index = Int(try cursor.u8("BINGET"))
                    default: index = Int(try cursor.le(4, "LONG_BINGET"))
                    }
                    guard let v = memo[index] else { return malformed("memo entry \(index) read before it was stored", offset) }
                    stack.append(v)
                case .global, .inst:
                    let module = PickleText.string(try cursor.line("\(op.name) module"))
                    let gname = PickleText.string(try cursor.line("\(op.name) name"))
                    noteGlobal(module, gname, at: offset)
                    if op == .inst { guard popToMark() else { return malformed("INST without MARK", offset) } }
                    stack.append(.other)
                case .stackGlobal:
                    let base = marks.last ?? 0
                    guard stack.count - base >= 2 else { return malformed("STACK_GLOBAL stack underflow", offset) }
                    let n = stack.removeLast(), m = stack.removeLast()
                    if case let .str(module) = m, case let .str(gname) = n {
                        noteGlobal(module, gname, at: offset)
                    } else {
                        report.add(ScanFinding(verdict: .dangerous, reason: "STACK_GLOBAL with a module or name computed at load time", pickle: name, offset: offset))
                    }
                    stack.append(.other)
                case .obj:
                    guard popToMark() else { return malformed("OBJ without MARK", offset) }
                    stack.append(.other)
                case .reduce, .newobj:
                    guard popN(2) else { return malformed("\(op.name) stack underflow", offset) }
                    stack.append(.other)
                case .newobjEx:
                    guard popN(3) else { return malformed("NEWOBJ_EX stack underflow", offset) }
                    stack.append(.other)
                case .persid: _ = try cursor.line("PERSID"); stack.append(.other)
                case .binpersid:
                    guard popN(1) else { return malformed("BINPERSID stack underflow", offset) }
                    stack.append(.other)
                case .ext1, .ext2, .ext4:
                    _ = try cursor.take(op == .ext1 ? 1 : op == .ext2 ? 2 : 4, op.name)
                    report.add(ScanFinding(verdict: .review, reason: "\(op.name) names a global through the copyreg extension registry", pickle: name, offset: offset))
                    stack.append(.other)
                }
            } catch {
                return malformed("truncated operand of \(op.name)", offset)
            }
            if stack.count > 1 << 24 { return malformed("stack too large", offset) }
        }
    }

    /// Scans a sequence of pickles laid end to end (a raw pickle file, or the five pickles
    /// of a legacy torch file when `maxCount` is 5), whatever protocol each one uses:
    /// Python's unpickler needs no PROTO opcode, so a protocol 0 or 1 object pickle runs
    /// like any other. A later pickle that breaks off is still scanned up to where it
    /// breaks (the unpickler runs every opcode before the bad one); bytes after the last
    /// complete pickle that do not start another one are noted, not flagged.
    public static func scanPickleSequence(_ bytes: [UInt8], path: String, format: String = "pickle", maxCount: Int = 64) -> ScanReport {
        var report = ScanReport(path: path, format: format)
        var position = 0
        var index = 0
        while position < bytes.count, index < maxCount {
            let name = index == 0 && maxCount == 64 ? "pickle" : "pickle #\(index + 1)"
            if index == 0 {
                guard let end = scanPickle(bytes, start: position, name: name, into: &report) else { break }
                position = end
            } else {
                var part = ScanReport(path: path, format: format)
                let end = scanPickle(bytes, start: position, name: name, into: &part)
                let ranOff = part.findings.contains { $0.reason.hasPrefix("malformed pickle: ends without STOP") || $0.reason.hasPrefix("malformed pickle: truncated") }
                let clean = end != nil || ranOff || part.globals.contains { $0.classification != "allowed" }
                report.pickles += part.pickles
                report.globals += part.globals
                for (k, v) in part.opcodeCounts { report.opcodeCounts[k, default: 0] += v }
                if clean {
                    for f in part.findings { report.add(f) }
                } else {
                    report.notes.append("\(bytes.count - position) bytes after pickle #\(index) are not a pickle (\(part.findings.first?.reason ?? "unreadable"))")
                    report.pickles.removeLast(part.pickles.count)
                }
                guard let end else { break }
                position = end
            }
            index += 1
        }
        return report
    }
}
