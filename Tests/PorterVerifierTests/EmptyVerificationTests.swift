import PorterCore
import PorterVerifier
import Testing

/// A verification that compared nothing must not pass (it used to print PASSED, 0 checked).
@Suite struct EmptyVerificationTests {
    @Test func nothingCheckedIsAFailure() {
        let empty = NeutralModel(sourceFormat: "pytorch", sourceFiles: ["module.pt"])
        let report = Verifier().verify(source: empty, converted: empty)
        #expect(!report.passed)
        #expect(report.failures.contains { $0.contains("no tensor was checked") })
    }
}
