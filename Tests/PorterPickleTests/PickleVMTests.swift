import Foundation
import Testing
@testable import PorterPickle

/// Hand-assembled pickles, one protocol feature or failure per test.
@Suite struct PickleVMTests {
    func load(_ bytes: [UInt8], hooks: PickleHooks = PickleHooks()) throws -> PickleValue {
        try PickleVM.value(of: bytes, source: "test.pkl", hooks: hooks)
    }
    func u(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }  // SHORT_BINUNICODE
    func text(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func protocol0TextOpcodes() throws {
        // (lp0\nI42\naL123456789012345678901234567890L\naF1.5\naS'a\\nb'\naVh\\u00e9\nap1\ng1\na(dI1\nI01\nsa.
        let p = text("(lp0\nI42\naL123456789012345678901234567890L\naF1.5\naS'a\\nb'\naVh\\u00e9\na(dp1\nI1\nI01\nsag1\na.")
        let v = try load(p)
        let items = try #require(v.sequenceItems)
        #expect(items.count == 7)
        #expect(items[0].intValue == 42)
        guard case let .bigInt(b) = items[1] else { Issue.record("expected big int"); return }
        #expect(b.description == "0x18ee90ff6c373e0ee4e3f0ad2")
        #expect(items[2].doubleValue == 1.5)
        #expect(items[3].stringValue == "a\nb")
        #expect(items[4].stringValue == "hé")
        #expect(items[5].dictValue?.entries.first?.value.boolValue == true)
        // GET 1 returns the same dict object (memo keeps identity).
        guard case let .dict(d1) = items[5], case let .dict(d2) = items[6] else { Issue.record("dicts"); return }
        #expect(d1 === d2)
    }

    @Test func protocol2BinaryOpcodes() throws {
        // Legacy torch magic as LONG1, TUPLE1/2/3, NEWTRUE/NEWFALSE, BININT variants, BINFLOAT big-endian.
        var p: [UInt8] = [0x80, 0x02, 0x28]
        p += [0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
        p += [0x4B, 7, 0x85]                          // (7,)
        p += [0x88, 0x89, 0x86]                       // (True, False)
        p += [0x4A, 0xFF, 0xFF, 0xFF, 0xFF, 0x4D, 0x34, 0x12, 0x4E, 0x87]  // (-1, 0x1234, None)
        p += [0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0]     // 1.5 big-endian
        p += [0x8A, 0x00]                             // LONG1 of zero bytes = 0
        p += [0x8B, 0x02, 0, 0, 0, 0x00, 0x80]        // LONG4 -32768
        p += [0x6C, 0x2E]                             // LIST STOP
        let items = try #require(try load(p).sequenceItems)
        if case let .bigInt(b) = items[0] { #expect(b.description == "0x1950a86a20f9469cfc6c") } else { Issue.record("big int expected") }
        #expect(items[1].sequenceItems?.first?.intValue == 7)
        #expect(items[2].sequenceItems?.map { $0.boolValue } == [true, false])
        let t3 = try #require(items[3].sequenceItems)
        #expect(t3[0].intValue == -1 && t3[1].intValue == 0x1234)
        #expect(items[4].doubleValue == 1.5)
        #expect(items[5].intValue == 0)
        #expect(items[6].intValue == -32768)
    }

    @Test func protocol4And5Opcodes() throws {
        var body: [UInt8] = []
        body += u("collections") + [0x94] + u("OrderedDict") + [0x94, 0x93, 0x94, 0x29, 0x52]  // OrderedDict()
        body += [0x28] + u("k") + [0x8F, 0x28, 0x4B, 1, 0x4B, 2, 0x90]  // k: {1, 2}
        body += u("f") + [0x28, 0x4B, 3, 0x91]                         // f: frozenset({3})
        body += u("b8") + [0x8E] + [3, 0, 0, 0, 0, 0, 0, 0] + [1, 2, 3]  // BINBYTES8
        body += u("ba") + [0x96] + [2, 0, 0, 0, 0, 0, 0, 0] + [9, 9]     // BYTEARRAY8
        body += u("u8") + [0x8D] + [2, 0, 0, 0, 0, 0, 0, 0] + Array("ok".utf8)
        body += u("again") + [0x68, 0x01]                               // memo 1 = 'OrderedDict'
        body += [0x75, 0x2E]
        var frame: [UInt8] = [0x95]
        withUnsafeBytes(of: UInt64(body.count).littleEndian) { frame += $0 }
        let v = try load([0x80, 0x05] + frame + body)
        let d = try #require(v.dictValue)
        #expect(d.type?.description == "collections.OrderedDict")
        #expect(d["k"]?.sequenceItems?.compactMap(\.intValue) == [1, 2])
        if case .frozenset = d["f"] {} else { Issue.record("frozenset expected") }
        if case let .bytes(b)? = d["b8"] { #expect(b == [1, 2, 3]) } else { Issue.record("bytes expected") }
        if case let .bytes(b)? = d["ba"] { #expect(b == [9, 9]) } else { Issue.record("bytearray expected") }
        #expect(d["u8"]?.stringValue == "ok")
        #expect(d["again"]?.stringValue == "OrderedDict")
    }

    @Test func buildGivesObjectsInertState() throws {
        // argparse.Namespace() with BUILD {'arch': 'x'}; an unknown class via NEWOBJ.
        var p: [UInt8] = [0x80, 0x02] + text("cargparse\nNamespace\n") + [0x29, 0x81, 0x7D] + u("arch") + u("x") + [0x73, 0x62]
        p += [0x2E]
        let o = try #require(try load(p).objectValue)
        #expect(o.type.description == "argparse.Namespace")
        #expect(o.stateDict?["arch"]?.stringValue == "x")
        #expect(try load(p).jsonValue() == ["arch": "x"])
        let unknown: [UInt8] = [0x80, 0x02] + text("cmylib.models\nNet\n") + [0x29, 0x81, 0x2E]
        #expect(try load(unknown).objectValue?.type.name == "Net")
    }

    @Test func persistentIDsGoThroughTheHook() throws {
        let p: [UInt8] = [0x80, 0x02, 0x28] + u("storage") + [0x85, 0x51] + text("Pabc\n") + [0x86, 0x2E]
        let plain = try #require(try load(p).sequenceItems)
        if case .persistentID = plain[0] {} else { Issue.record("persistent id kept inert") }
        let hooked = try load(p, hooks: PickleHooks(persistentLoad: { id, _ in .string("resolved") }))
        #expect(hooked.sequenceItems?.map(\.stringValue) == ["resolved", "resolved"])
    }

    // MARK: refusals

    @Test(arguments: [
        ("os", "system"), ("posix", "system"), ("subprocess", "Popen"), ("builtins", "eval"), ("builtins", "exec"),
        ("builtins", "getattr"), ("__builtin__", "__import__"), ("runpy", "run_path"), ("webbrowser", "open"),
        ("sys", "modules"), ("importlib", "import_module"), ("_pickle", "loads"), ("socket", "socket"),
        ("shutil", "rmtree"), ("pty", "spawn"), ("ctypes", "CDLL"), ("code", "interact"), ("os.path", "join"),
        ("collections", "OrderedDict.__init__.__globals__"), ("torch", "load"), ("nt", "system"),
    ])
    func dangerousGlobalsAreRefusedWithOffset(module: String, name: String) throws {
        let p: [UInt8] = [0x80, 0x02, 0x4E, 0x30] + text("c\(module)\n\(name)\n") + [0x29, 0x52, 0x2E]
        do {
            _ = try load(p)
            Issue.record("\(module).\(name) was not refused")
        } catch let PickleError.dangerousGlobal(_, offset, global, _) {
            #expect(global == "\(module).\(name)")
            #expect(offset == 4)
            let message = PickleError.dangerousGlobal(source: "test.pkl", offset: offset, global: global, reason: "r").localizedDescription
            #expect(message.contains("byte 4") && message.contains(global))
        }
    }

    @Test func stackGlobalBuiltFromMemoIsRefused() throws {
        // Memoise innocent-looking strings, then fetch them to spell builtins.eval.
        let p: [UInt8] = [0x80, 0x04] + u("builtins") + [0x94] + u("eval") + [0x94, 0x30, 0x30, 0x68, 0x00, 0x68, 0x01, 0x93]
            + u("1+1") + [0x85, 0x52, 0x2E]
        #expect { try load(p) } throws: { error in
            guard case let PickleError.dangerousGlobal(_, offset, global, _) = error else { return false }
            return global == "builtins.eval" && offset == 26
        }
    }

    @Test func stackGlobalNeedsStrings() {
        let p: [UInt8] = [0x80, 0x04, 0x4B, 1, 0x4B, 2, 0x93, 0x2E]
        #expect { try load(p) } throws: { ($0 as? PickleError).map { if case .typeMismatch = $0 { return true }; return false } ?? false }
    }

    @Test func extensionAndBufferOpcodesAreRefused() {
        for p: [UInt8] in [[0x80, 0x02, 0x82, 0x01, 0x2E], [0x80, 0x02, 0x83, 0x01, 0x00, 0x2E], [0x80, 0x02, 0x84, 1, 0, 0, 0, 0x2E],
                           [0x80, 0x05, 0x97, 0x2E], [0x80, 0x05, 0x4E, 0x98, 0x2E]] {
            let at = p[2] == 0x4E ? 3 : 2
            #expect { try load(p) } throws: { ($0 as? PickleError).map { if case let .unsupportedOpcode(_, o, _, _) = $0 { return o == at }; return false } ?? false }
        }
    }

    @Test func malformedInputsGiveTypedErrors() {
        func expectError(_ p: [UInt8], _ check: (PickleError) -> Bool) {
            do { _ = try load(p); Issue.record("no error for \(p)") } catch let e as PickleError { #expect(check(e), "\(e)") } catch {
                Issue.record("untyped error \(error)")
            }
        }
        expectError([0x80, 0x02, 0x58, 10, 0, 0, 0, 0x61]) { if case .truncated(_, 7, _) = $0 { return true }; return false }
        expectError([0x80, 0x02, 0xFF]) { if case .unknownOpcode(_, 2, 0xFF) = $0 { return true }; return false }
        expectError([0x80, 0x02, 0x52, 0x2E]) { if case .stackUnderflow(_, 2, "REDUCE") = $0 { return true }; return false }
        expectError([0x80, 0x02, 0x68, 0x05, 0x2E]) { if case .memoMissing(_, 2, 5) = $0 { return true }; return false }
        expectError([0x80, 0x02, 0x74, 0x2E]) { if case .markMissing = $0 { return true }; return false }
        expectError([0x80, 0x02, 0x4E]) { if case .missingStop(_, 3) = $0 { return true }; return false }
        expectError([0x80, 0x09, 0x4E, 0x2E]) { if case .malformedArgument = $0 { return true }; return false }
        // Huge declared lengths are checked against the remaining input before allocating.
        expectError([0x80, 0x04, 0x8E, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x2E]) { if case .truncated = $0 { return true }; return false }
        expectError([0x80, 0x04, 0x95, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0x4E, 0x2E]) { if case .truncated = $0 { return true }; return false }
        // APPEND to a non-list.
        expectError([0x80, 0x02, 0x4E, 0x4E, 0x61, 0x2E]) { if case .typeMismatch = $0 { return true }; return false }
    }

    @Test func deepNestingIsBounded() {
        // 5000 nested tuples: TUPLE1 repeated.
        let deep: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 5000) + [0x2E]
        #expect { try load(deep) } throws: { if case PickleError.limitExceeded = $0 { return true }; return false }
        // Memo trick: nest lists after they were inserted (each new list appended into the
        // previous one fetched from the memo), so insertion-time heights stay small.
        var p: [UInt8] = [0x80, 0x02, 0x5D, 0x72, 0, 0, 0, 0]  // root list, memo 0
        for i in 0..<3000 {
            p += [0x6A] + withUnsafeBytes(of: UInt32(i).littleEndian) { Array($0) }   // LONG_BINGET i
            p += [0x5D, 0x72] + withUnsafeBytes(of: UInt32(i + 1).littleEndian) { Array($0) }  // new list, memo i+1
            p += [0x61, 0x30]  // APPEND, POP
        }
        p += [0x6A, 0, 0, 0, 0, 0x2E]
        #expect { try load(p) } throws: { if case PickleError.limitExceeded = $0 { return true }; return false }
        // Too many marks.
        let marks: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x28, count: 20_000) + [0x2E]
        #expect { try load(marks) } throws: { if case PickleError.limitExceeded = $0 { return true }; return false }
    }

    @Test func cyclesAreAllowedAndTerminate() throws {
        // d = {}; d['self'] = d  (omegaconf's _parent links look like this)
        let p: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00] + u("self") + [0x68, 0x00, 0x73, 0x2E]
        let v = try load(p)
        #expect(v.jsonValue() == ["self": "<cycle>"])
    }
}
