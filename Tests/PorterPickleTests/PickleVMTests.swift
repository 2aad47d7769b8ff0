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
        // The VM cut the cycle where the dict holds itself.
        guard case .recursive = try #require(v.dictValue?["self"]) else { Issue.record("expected the cut"); return }
    }

    /// Self-referencing pickles used to build reference cycles that ARC never freed (found by
    /// fuzz-torch-zip under LeakSanitizer). After the cut, dropping the value frees everything.
    @Test func cyclicContainersAreFreed() throws {
        weak var list: PickleList?
        weak var dict: PickleDict?
        weak var object: PickleObject?
        do {
            // l = []; l.append(l); l.append({'l': l})  -> [l, {'l': l}]
            let listCycle: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x7D, 0x71, 0x01] + u("l") + [0x68, 0x00, 0x73, 0x61, 0x2E]
            let v = try load(listCycle)
            guard case let .list(l) = v else { Issue.record("list"); return }
            list = l
            #expect(l.items.count == 2)
            guard case .recursive = l.items[0] else { Issue.record("first item should be the cut"); return }
            guard case let .dict(d) = l.items[1] else { Issue.record("dict"); return }
            dict = d
            guard case .recursive = try #require(d["l"]) else { Issue.record("dict's l should be the cut"); return }
            // o = mylib.Thing(); o.__setstate__({'me': o})  (BUILD with the object in its own state)
            var objectCycle: [UInt8] = [0x80, 0x02] + Array("cmylib\nThing\n".utf8) + [0x29, 0x81, 0x71, 0x00]  // GLOBAL, EMPTY_TUPLE, NEWOBJ, BINPUT 0
            objectCycle += [0x7D] + u("me") + [0x68, 0x00, 0x73, 0x62, 0x2E]  // {'me': o}, BUILD, STOP
            let ov = try load(objectCycle)
            let o = try #require(ov.objectValue)
            object = o
            guard case .recursive = try #require(o.stateDict?["me"]) else { Issue.record("state's me should be the cut"); return }
            #expect(ov.jsonValue() == ["__class__": "mylib.Thing", "state": ["me": "<cycle>"]])
        }
        #expect(list == nil)
        #expect(dict == nil)
        #expect(object == nil)
    }

    @Test func cycleThroughPersistentIDIsCutAtTheEnclosingSlot() throws {
        // l = []; l.append(persistent_id(l)): the id is no container, so the list's slot holding it is cut.
        let direct: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x51, 0x61, 0x2E]  // EMPTY_LIST, BINPUT, BINGET, BINPERSID, APPEND
        // l = []; l.append(persistent_id((l,))): the tuple's slot is cut, the id stays.
        let viaTuple: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x85, 0x51, 0x61, 0x2E]
        weak var weakList: PickleList?
        do {
            let v = try load(direct)
            guard case let .list(l) = v else { Issue.record("list"); return }
            weakList = l
            guard case .recursive = try #require(l.items.first) else { Issue.record("expected the cut"); return }
            let w = try load(viaTuple)
            guard case let .persistentID(.tuple(t)) = try #require(w.sequenceItems?.first),
                  case .recursive = try #require(t.items.first) else { Issue.record("expected the cut in the tuple"); return }
        }
        #expect(weakList == nil)
    }
}

@Suite struct PickleVMProtocol1Tests {
    func load(_ bytes: [UInt8], hooks: PickleHooks = PickleHooks()) throws -> PickleValue {
        try PickleVM.value(of: bytes, source: "p1.pkl", hooks: hooks)
    }

    @Test func instObjDupPopMarkAndPut() throws {
        // (i mylib\nThing\n  with one arg; OBJ of a GLOBAL class; DUP; POP_MARK; text PUT/GET.
        var p = Array("(I5\nimylib\nThing\n".utf8)          // INST mylib.Thing(5)
        p += Array("p0\n0".utf8)                             // PUT 0, POP
        p += Array("(cmylib\nOther\nI1\no".utf8)             // OBJ mylib.Other(1)
        p += [0x32, 0x30]                                    // DUP, POP
        p += Array("(I9\nI9\n1".utf8)                        // MARK, two ints, POP_MARK
        p += Array("g0\n".utf8) + [0x86, 0x2E]             // GET 0, TUPLE2, STOP
        let v = try load(p)
        let items = try #require(v.sequenceItems)
        #expect(items[0].objectValue?.type.description == "mylib.Other")
        #expect(items[0].objectValue?.args.sequenceItems?.first?.intValue == 1)
        #expect(items[1].objectValue?.type.description == "mylib.Thing")
        #expect(items[1].objectValue?.creation == .inst)
    }

    @Test func instOfDangerousClassIsRefused() {
        let p = Array("(S'touch x'\nios\nsystem\n.".utf8)
        #expect { try load(p) } throws: { error in
            guard case let PickleError.dangerousGlobal(_, offset, global, _) = error else { return false }
            return global == "os.system" && offset == 12
        }
    }

    @Test func refusePolicyRefusesUnknownGlobals() {
        let p: [UInt8] = [0x80, 0x02] + Array("cmylib\nNet\n".utf8) + [0x2E]
        #expect(throws: PickleError.self) { try load(p, hooks: PickleHooks(unknownGlobals: .refuse)) }
        #expect(throws: Never.self) { try load(p) }
    }

    @Test func codecsEncodeMakesBytes() throws {
        // How protocol 2 pickles bytes: _codecs.encode('\xff\x00', 'latin1').
        let p: [UInt8] = [0x80, 0x02] + Array("c_codecs\nencode\n".utf8) + [0x58, 4, 0, 0, 0, 0xC3, 0xBF, 0x00, 0x41]
            + [0x58, 6, 0, 0, 0] + Array("latin1".utf8) + [0x86, 0x52, 0x2E]
        guard case let .bytes(b) = try load(p) else { Issue.record("bytes expected"); return }
        #expect(b == [0xFF, 0x00, 0x41])
    }
}

@Suite struct PickleJSONTests {
    /// `pickle.dumps({'a': np.float64(1.25), 'b': np.int64(-7), 'c': np.float32(0.5), 'd': np.bool_(True)}, protocol=2)`
    /// made with numpy 2.4.6.
    static let numpyScalars = "80027d7100285801000000617101636e756d70792e5f636f72652e6d756c746961727261790a7363616c61720a7102636e756d70790a64747970650a71035802000000663871048988877105527106284b0358010000003c71074e4e4e4affffffff4affffffff4b0074710862635f636f646563730a656e636f64650a71095809000000000000000000c3b43f710a58060000006c6174696e31710b86710c52710d86710e52710f5801000000627110680268035802000000693871118988877112527113284b0368074e4e4e4affffffff4affffffff4b007471146268095810000000c3b9c3bfc3bfc3bfc3bfc3bfc3bfc3bf7115680b867116527117867118527119580100000063711a6802680358020000006634711b898887711c52711d284b0368074e4e4e4affffffff4affffffff4b0074711e62680958040000000000003f711f680b8671205271218671225271235801000000647124680268035802000000623171258988877126527127284b0358010000007c71284e4e4e4affffffff4affffffff4b00747129626809580100000001712a680b86712b52712c86712d52712e752e"

    @Test func numpyScalarsBecomeNumbers() throws {
        var bytes: [UInt8] = []
        var chars = Array(Self.numpyScalars)
        while chars.count >= 2 { bytes.append(UInt8(String(chars[0...1]), radix: 16)!); chars.removeFirst(2) }
        let v = try PickleVM.value(of: bytes, source: "np.pkl")
        #expect(v.jsonValue() == ["a": 1.25, "b": -7, "c": 0.5, "d": true])
    }
}
