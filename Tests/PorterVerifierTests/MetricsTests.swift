import Foundation
import Testing
@testable import PorterVerifier

@Suite struct MetricsTests {
    // actual [1, 2, 3, 4] vs expected [1, 2.5, 3, 2], rows of 2:
    // |diff| = 0, 0.5, 0, 2 → max 2 (index 3), mean 0.625; rel 0.5/2.5 = 0.2 and 2/2 = 1 → max 1;
    // dot 23, ‖a‖² 30, ‖e‖² 20.25 → cos 23 / (√30 · 4.5); row argmax (1,1) agrees, (1,0) does not.
    @Test func handComputedValues() {
        let m = ComparisonMetrics.compare(actual: [1, 2, 3, 4], expected: [1, 2.5, 3, 2], rowLength: 2,
                                          tolerance: Tolerance(atol: 0.1, rtol: 0.1))
        #expect(m.count == 4)
        #expect(m.maxAbs == 2)
        #expect(m.meanAbs == 0.625)
        #expect(m.maxRel == 1)
        #expect(abs(m.cosine - 23 / (30.0.squareRoot() * 4.5)) < 1e-15)
        #expect(m.argmaxAgreement == 0.5)
        #expect(m.top5Agreement == 1)  // rows of two: both index sets are {0, 1}
        #expect(m.worstIndex == 3)
        // 0.5 > 0.1 + 0.1·2.5 and 2 > 0.1 + 0.1·2: two elements outside.
        #expect(m.outsideTolerance == 2)
        #expect(!m.withinTolerance)
    }

    @Test func topFiveComparesIndexSets() {
        let a: [Double] = [0.1, 0.9, 0.8, 0.7, 0.6, 0.5]   // top-5 {1,2,3,4,5}, argmax 1
        let same: [Double] = [0.0, 0.5, 0.9, 0.8, 0.7, 0.6] // top-5 {1,2,3,4,5}, argmax 2
        let other: [Double] = [0.9, 0.1, 0.8, 0.7, 0.6, 0.5] // top-5 {0,2,3,4,5}, argmax 0
        let m1 = ComparisonMetrics.compare(actual: a, expected: same, rowLength: 6, tolerance: Tolerance(atol: 1, rtol: 0))
        #expect(m1.argmaxAgreement == 0)
        #expect(m1.top5Agreement == 1)
        let m2 = ComparisonMetrics.compare(actual: a + a, expected: other + a, rowLength: 6, tolerance: Tolerance(atol: 1, rtol: 0))
        #expect(m2.argmaxAgreement == 0.5)
        #expect(m2.top5Agreement == 0.5)
    }

    @Test func topIndicesBreakTiesByLowerIndex() {
        #expect(ComparisonMetrics.topIndices([3, 5, 5, 1, 5, 2][...], k: 3) == [1, 2, 4])
        #expect(ComparisonMetrics.topIndices([1, .nan, 0][...], k: 2) == [0, 2])
    }

    @Test func cosineOfZeroVectors() {
        let t = Tolerance(atol: 0, rtol: 0)
        #expect(ComparisonMetrics.compare(actual: [0, 0], expected: [0, 0], rowLength: nil, tolerance: t).cosine == 1)
        #expect(ComparisonMetrics.compare(actual: [0, 0], expected: [1, 0], rowLength: nil, tolerance: t).cosine == 0)
        let opposite = ComparisonMetrics.compare(actual: [-1, -2], expected: [1, 2], rowLength: nil, tolerance: t)
        #expect(abs(opposite.cosine + 1) < 1e-15)
        #expect(opposite.argmaxAgreement == nil)
    }

    @Test func nonFiniteValues() {
        let t = Tolerance(atol: 1e-4, rtol: 1e-3)
        let same = ComparisonMetrics.compare(actual: [.nan, 1, .infinity], expected: [.nan, 1, .infinity], rowLength: nil, tolerance: t)
        #expect(same.withinTolerance)
        #expect(same.nonFiniteMismatches == 0)
        let bad = ComparisonMetrics.compare(actual: [1, .nan, 2], expected: [1, 0, 2], rowLength: nil, tolerance: t)
        #expect(!bad.withinTolerance)
        #expect(bad.nonFiniteMismatches == 1)
        #expect(bad.worstIndex == 1)
        #expect(bad.maxAbs == 0)
        let inf = ComparisonMetrics.compare(actual: [-.infinity], expected: [.infinity], rowLength: nil, tolerance: t)
        #expect(inf.nonFiniteMismatches == 1)
    }

    @Test func relativeErrorSkipsZeroExpected() {
        let m = ComparisonMetrics.compare(actual: [0.5, 2.2], expected: [0, 2], rowLength: nil, tolerance: Tolerance(atol: 0, rtol: 0))
        #expect(abs(m.maxRel - 0.1) < 1e-12)
        #expect(m.maxAbs == 0.5)
    }
}

@Suite struct ToleranceTests {
    @Test func allcloseRule() {
        let t = Tolerance(atol: 1e-4, rtol: 1e-3)
        #expect(t.accepts(1.00105, 1.0))         // 0.00105 ≤ 0.0001 + 0.001
        #expect(!t.accepts(1.0012, 1.0))         // 0.0012 > 0.0011
        #expect(t.accepts(0.0001, 0))            // atol alone near zero
        #expect(!t.accepts(0.00011, 0))
        #expect(t.accepts(-1000.9, -1000))       // rtol scales with |expected|
        #expect(!t.accepts(.nan, 0))
        #expect(t.accepts(.nan, .nan))
        #expect(!t.accepts(.infinity, 1e300))
    }

    @Test func defaultsPerDType() {
        #expect(Tolerance.default(for: .f32) == Tolerance(atol: 1e-4, rtol: 1e-3))
        #expect(Tolerance.default(for: .f64) == Tolerance(atol: 1e-4, rtol: 1e-3))
        #expect(Tolerance.default(for: .f16) == Tolerance(atol: 1e-2, rtol: 1e-2))
        #expect(Tolerance.default(for: .bf16) == Tolerance(atol: 5e-2, rtol: 5e-2))
    }

    @Test func leastPreciseDTypeDecidesAndOptionsOverride() throws {
        let a = try model([("w", floats([1], [1]))])
        var b = a
        b.tensors.set(.init(name: "w", tensor: try floats([1], [1]).cast(to: .bf16, name: "w"), provenance: .init(sourceFile: "b", sourceName: "w")))
        let used = Verifier().toleranceUsed(source: a, converted: b)
        #expect(used.basis == "bf16")
        #expect(used.atol == 5e-2 && !used.overridden)
        let custom = Verifier(options: .init(atol: 1e-6)).toleranceUsed(source: a, converted: a)
        #expect(custom.atol == 1e-6 && custom.rtol == 1e-3 && custom.overridden)
    }
}
