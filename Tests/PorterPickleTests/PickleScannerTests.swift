import Testing
@testable import PorterPickle

@Suite struct PickleScannerTests {
    func u(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }

    @Test func safePickleIsSafe() {
        let p: [UInt8] = [0x80, 0x02] + Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x52, 0x2E]
        let r = PickleScanner.scanPickleSequence(p, path: "x")
        #expect(r.verdict == .safe)
        #expect(r.globals.map(\.global) == ["collections.OrderedDict"])
        #expect(r.opcodeCounts["GLOBAL"] == 1 && r.opcodeCounts["REDUCE"] == 1)
    }

    @Test func unknownClassNeedsReview() {
        let p: [UInt8] = [0x80, 0x02] + Array("cmylib\nNet\n".utf8) + [0x29, 0x81, 0x2E]
        let r = PickleScanner.scanPickleSequence(p, path: "x")
        #expect(r.verdict == .review)
        #expect(r.globals.first?.classification == "unknown")
    }

    @Test func memoBuiltStackGlobalIsDangerous() {
        let p: [UInt8] = [0x80, 0x04] + u("os") + [0x94] + u("system") + [0x94, 0x30, 0x30, 0x68, 0, 0x68, 1, 0x93, 0x4E, 0x85, 0x52, 0x2E]
        let r = PickleScanner.scanPickleSequence(p, path: "x")
        #expect(r.verdict == .dangerous)
        #expect(r.findings.contains { $0.reason.contains("os.system") && $0.offset == 22 })
    }

    @Test func computedStackGlobalIsDangerous() {
        // The module name is the result of a REDUCE, not a literal string.
        let p: [UInt8] = [0x80, 0x04] + Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x52] + u("x") + [0x93, 0x2E]
        let r = PickleScanner.scanPickleSequence(p, path: "x")
        #expect(r.verdict == .dangerous)
    }

    @Test func malformedPickleNeedsReview() {
        let r = PickleScanner.scanPickleSequence([0x80, 0x02, 0x52], path: "x")
        #expect(r.verdict == .review)
        #expect(r.findings.first?.reason.contains("malformed") == true)
    }
}
