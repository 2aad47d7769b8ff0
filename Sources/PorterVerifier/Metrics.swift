import Foundation
import PorterCore

/// Absolute and relative tolerance: an element passes when |actual − expected| ≤ atol + rtol·|expected|
/// (NumPy's `allclose` rule, with the expected value on the right).
public struct Tolerance: Sendable, Codable, Equatable {
    public var atol: Double
    public var rtol: Double

    public init(atol: Double, rtol: Double) {
        self.atol = atol
        self.rtol = rtol
    }

    /// True when `actual` is within tolerance of `expected`. NaN matches only NaN, and an
    /// infinity only the same infinity.
    @inlinable public func accepts(_ actual: Double, _ expected: Double) -> Bool {
        if actual.isNaN || expected.isNaN { return actual.isNaN && expected.isNaN }
        if actual.isInfinite || expected.isInfinite { return actual == expected }
        return abs(actual - expected) <= atol + rtol * abs(expected)
    }

    /// Porter's default for outputs of a model whose weights are of `dtype` (see
    /// `docs/verification.md`). The least precise float dtype of the two models decides.
    public static func `default`(for dtype: DType) -> Tolerance {
        switch dtype {
        case .f16: return Tolerance(atol: 1e-2, rtol: 1e-2)
        case .bf16: return Tolerance(atol: 5e-2, rtol: 5e-2)
        case .f8e4m3, .f8e5m2: return Tolerance(atol: 2.5e-1, rtol: 2.5e-1)
        default: return Tolerance(atol: 1e-4, rtol: 1e-3)
        }
    }
}

/// How two arrays of numbers compare, index by index. `expected` is the source model's
/// (or the reference's) value and `actual` the converted model's.
public struct ComparisonMetrics: Sendable, Codable, Equatable {
    /// Elements compared.
    public var count: Int
    /// max |actual − expected| over finite pairs.
    public var maxAbs: Double
    /// max |actual − expected| / |expected| over finite pairs with expected ≠ 0.
    public var maxRel: Double
    /// mean |actual − expected| over finite pairs.
    public var meanAbs: Double
    /// actual·expected / (‖actual‖‖expected‖); 1 when both are all zeros, 0 when only one is.
    public var cosine: Double
    /// Fraction of rows (over the last axis) whose argmax agrees; nil for scalars.
    public var argmaxAgreement: Double?
    /// Fraction of rows whose top-5 index sets (top-k for shorter rows) agree; nil for scalars.
    public var top5Agreement: Double?
    /// Elements outside the tolerance used.
    public var outsideTolerance: Int
    /// Flat index of the largest absolute difference (of the first non-finite mismatch, if any).
    public var worstIndex: Int
    /// Pairs where one side is NaN or infinite and the other is not the same.
    public var nonFiniteMismatches: Int
    /// How much of the tolerance the worst element uses: max over finite pairs of
    /// |actual − expected| / (atol + rtol·|expected|). Below 1 every finite element passes;
    /// the margin to the tolerance is 1 − this. Absent when the tolerance allows no
    /// difference at all and values differ (the fraction would be infinite), and in
    /// reports of Porter versions that did not measure it.
    public var toleranceFraction: Double? = nil

    public init(count: Int, maxAbs: Double, maxRel: Double, meanAbs: Double, cosine: Double, argmaxAgreement: Double?,
                top5Agreement: Double?, outsideTolerance: Int, worstIndex: Int, nonFiniteMismatches: Int) {
        self.count = count
        self.maxAbs = maxAbs
        self.maxRel = maxRel
        self.meanAbs = meanAbs
        self.cosine = cosine
        self.argmaxAgreement = argmaxAgreement
        self.top5Agreement = top5Agreement
        self.outsideTolerance = outsideTolerance
        self.worstIndex = worstIndex
        self.nonFiniteMismatches = nonFiniteMismatches
    }

    public init(count: Int, maxAbs: Double, maxRel: Double, meanAbs: Double, cosine: Double, argmaxAgreement: Double?,
                top5Agreement: Double?, outsideTolerance: Int, worstIndex: Int, nonFiniteMismatches: Int, toleranceFraction: Double?) {
        self.init(count: count, maxAbs: maxAbs, maxRel: maxRel, meanAbs: meanAbs, cosine: cosine, argmaxAgreement: argmaxAgreement,
                  top5Agreement: top5Agreement, outsideTolerance: outsideTolerance, worstIndex: worstIndex, nonFiniteMismatches: nonFiniteMismatches)
        self.toleranceFraction = toleranceFraction
    }

    /// True when every element is within tolerance.
    public var withinTolerance: Bool { outsideTolerance == 0 && nonFiniteMismatches == 0 }

    /// Compares `actual` with `expected` (same count), rows along a last axis of `rowLength`.
    public static func compare(actual: [Double], expected: [Double], rowLength: Int?, tolerance: Tolerance) -> ComparisonMetrics {
        precondition(actual.count == expected.count, "compare needs equal counts")
        let n = actual.count
        var maxAbs = 0.0, maxRel = 0.0, sumAbs = 0.0, fraction = 0.0
        var dot = 0.0, na = 0.0, ne = 0.0
        var outside = 0, worst = 0, nonFinite = 0, finitePairs = 0
        var firstNonFinite: Int?
        for i in 0..<n {
            let a = actual[i], e = expected[i]
            if !tolerance.accepts(a, e) { outside += 1 }
            guard a.isFinite && e.isFinite else {
                let same = (a.isNaN && e.isNaN) || a == e
                if !same {
                    nonFinite += 1
                    if firstNonFinite == nil { firstNonFinite = i }
                }
                continue
            }
            finitePairs += 1
            let d = abs(a - e)
            if d > maxAbs { maxAbs = d; worst = i }
            if e != 0 { maxRel = max(maxRel, d / abs(e)) }
            if d > 0 {
                let allowed = tolerance.atol + tolerance.rtol * abs(e)
                fraction = max(fraction, allowed > 0 ? d / allowed : .infinity)
            }
            sumAbs += d
            dot += a * e
            na += a * a
            ne += e * e
        }
        let cosine: Double
        // Equal finite values have a cosine of exactly 1; the sums would round it to 1 − 2e-16,
        // which the reports (showing the digits that tell a cosine from 1) would print.
        if maxAbs == 0 && finitePairs > 0 && na == ne { cosine = 1 } else if na == 0 && ne == 0 { cosine = 1 } else if na == 0 || ne == 0 { cosine = 0 } else {
            cosine = dot / (na.squareRoot() * ne.squareRoot())
        }
        var argmax: Double?
        var top5: Double?
        if let rowLength, rowLength > 0, n > 0, n % rowLength == 0 {
            let rows = n / rowLength
            var agreeTop1 = 0, agreeTop5 = 0
            let k = min(5, rowLength)
            for r in 0..<rows {
                let range = (r * rowLength)..<((r + 1) * rowLength)
                let ta = topIndices(actual[range], k: k)
                let te = topIndices(expected[range], k: k)
                if ta.first == te.first { agreeTop1 += 1 }
                if Set(ta) == Set(te) { agreeTop5 += 1 }
            }
            argmax = Double(agreeTop1) / Double(rows)
            top5 = Double(agreeTop5) / Double(rows)
        }
        return ComparisonMetrics(count: n, maxAbs: maxAbs, maxRel: maxRel, meanAbs: finitePairs > 0 ? sumAbs / Double(finitePairs) : 0,
                                 cosine: cosine, argmaxAgreement: argmax, top5Agreement: top5, outsideTolerance: outside,
                                 worstIndex: firstNonFinite ?? worst, nonFiniteMismatches: nonFinite,
                                 toleranceFraction: fraction.isFinite ? fraction : nil)
    }

    /// Indices (relative to the slice) of the `k` largest values, largest first; ties go to
    /// the lower index; NaN counts as smallest.
    static func topIndices(_ row: ArraySlice<Double>, k: Int) -> [Int] {
        var best: [(value: Double, index: Int)] = []
        for (offset, raw) in row.enumerated() {
            let v = raw.isNaN ? -Double.infinity : raw
            if best.count == k, let last = best.last, !(v > last.value) { continue }
            var pos = best.count
            while pos > 0 && v > best[pos - 1].value { pos -= 1 }
            best.insert((v, offset), at: pos)
            if best.count > k { best.removeLast() }
        }
        return best.map(\.index)
    }
}
