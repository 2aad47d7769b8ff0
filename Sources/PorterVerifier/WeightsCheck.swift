import Foundation
import PorterArchitectures
import PorterCore

/// Level 1: replays each converted tensor's provenance on the source tensors and
/// compares bytes. Casts are replayed with `FloatConversion.cast` (through
/// `TensorRef.cast`), so a correct cast compares bit-exact too. Tensors are read one at
/// a time, so memory stays bounded by the largest tensor.
public enum WeightsCheck {
    /// Checks `converted` against `source`. Without a summary, tensors are matched by
    /// name and a dtype change between two float kinds counts as a cast.
    public static func run(source: NeutralModel, converted: NeutralModel, summary: ConversionSummary?,
                           progress: any ProgressSink = SilentProgress()) -> WeightsLevel {
        check(source: source, converted: converted, summary: summary, progress: progress).level
    }

    /// The level, and the converted tensors proven identical to a source tensor as it
    /// stands (no transform replayed, same dtype and shape, bytes equal): converted name →
    /// source name. The forward level shares those weights between its two executors.
    public static func check(source: NeutralModel, converted: NeutralModel, summary: ConversionSummary?,
                             progress: any ProgressSink = SilentProgress())
        -> (level: WeightsLevel, identical: [String: String]) {
        let lineage: [ConversionSummary.ProducedTensor]
        if let summary {
            lineage = summary.produced
        } else {
            lineage = converted.tensors.compactMap { entry in
                guard let s = source.tensors[entry.name] else { return nil }
                var steps: [TransformStep] = []
                if s.tensor.dtype != entry.tensor.dtype, s.tensor.dtype.isCastableFloat, entry.tensor.dtype.isCastableFloat {
                    steps.append(.cast(from: s.tensor.dtype, to: entry.tensor.dtype))
                }
                return ConversionSummary.ProducedTensor(name: entry.name, sources: [entry.name], transforms: steps)
            }
        }
        var byName: [String: ConversionSummary.ProducedTensor] = [:]
        for p in lineage where byName[p.name] == nil { byName[p.name] = p }

        var mismatches: [WeightMismatch] = []
        var unexpected: [String] = []
        var consumed = Set<String>()
        var bitExact = 0, castExact = 0, checked = 0
        var jobs: [(TensorEntry, ConversionSummary.ProducedTensor)] = []
        // Tensors the output format computes from the source's config (GGUF's rope_freqs.weight for
        // Llama 3 rope scaling): checked against the architecture descriptor's values for that config.
        let computed = Dictionary((try? ArchitectureRegistry.standard.descriptor(for: source.config)?
            .ggufComputedTensors(config: source.config)).flatMap { $0 }?.map { ($0.name, $0) } ?? [], uniquingKeysWith: { a, _ in a })
        for entry in converted.tensors {
            if byName[entry.name] == nil, source.tensors[entry.name] == nil, let expected = computed[entry.name] {
                checked += 1
                let got = (try? entry.tensor.floatValues()) ?? []
                if entry.tensor.shape.dims == expected.shape, got.count == expected.values.count,
                   zip(got, expected.values).allSatisfy({ $0.bitPattern == $1.bitPattern }) {
                    bitExact += 1
                } else {
                    let differing = got.count == expected.values.count ? zip(got, expected.values).filter { $0.bitPattern != $1.bitPattern }.count : nil
                    mismatches.append(WeightMismatch(name: entry.name, sources: [], transforms: [], problem:
                        "computed from the config (\(expected.origin)), but its values are not the ones that config gives", differingElements: differing))
                }
                continue
            }
            guard let produced = byName[entry.name] else {
                // A constant of the converted file's own graph (an ONNX Constant node's value,
                // which the reader keeps as a tensor): part of the graph, which the forward
                // level runs, not a weight that needs a source.
                if entry.provenance.transforms == [.graphConstant], source.tensors[entry.name] == nil { continue }
                unexpected.append(entry.name)
                continue
            }
            checked += 1
            for s in produced.sources { consumed.insert(s) }
            for step in produced.transforms {
                if case let .concat(_, names, _) = step { consumed.formUnion(names) }
            }
            jobs.append((entry, produced))
        }
        // Tensors are independent: compare them on all cores, largest first so the tail is short.
        let work = jobs
        let order = work.indices.sorted { work[$0].0.tensor.byteCount > work[$1].0.tensor.byteCount }
        let outcomes = OutcomeSlots(count: jobs.count)
        let next = OutcomeSlots.Counter()
        let workers = min(max(1, ProcessInfo.processInfo.activeProcessorCount), max(1, jobs.count))
        // Units are bytes of the converted tensors compared.
        progress.begin("verifying weights", totalUnits: Int64(jobs.reduce(0) { $0 + $1.0.tensor.byteCount }))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let k = next.take(below: order.count) {
                let (entry, produced) = work[order[k]]
                outcomes.set(order[k], compare(entry, produced, source: source))
                progress.advance(Int64(entry.tensor.byteCount))
            }
        }
        progress.end()
        var identical: [String: String] = [:]
        for i in jobs.indices {
            switch outcomes.get(i) {
            case let .exact(same)?:
                bitExact += 1
                if let same { identical[jobs[i].0.name] = same }
            case .castExact?: castExact += 1
            case let .mismatch(m)?: mismatches.append(m)
            case nil: break
            }
        }
        // Produced tensors the summary promises but the converted model lacks.
        let present = Set(converted.tensors.names)
        for p in lineage where !present.contains(p.name) {
            // A tie written once (formats that cannot share, transformers' tied heads) is fine
            // as long as its target is there.
            let tiedTo = p.transforms.compactMap { step -> String? in
                if case let .tie(_, to) = step { return to }
                return nil
            }.last
            if let tiedTo, present.contains(tiedTo) { continue }
            mismatches.append(WeightMismatch(name: p.name, sources: p.sources, transforms: p.transforms,
                                             problem: "the conversion produced it, but the converted model does not have it"))
        }
        let dropped = Set((summary?.dropped.map(\.name) ?? []))
        let missing = source.tensors.names.filter { !consumed.contains($0) && !dropped.contains($0) }
        let passed = mismatches.isEmpty && missing.isEmpty && unexpected.isEmpty
        let level = WeightsLevel(status: passed ? .passed : .failed, checked: checked, bitExact: bitExact, castExact: castExact,
                                 mismatches: mismatches, missing: missing, unexpected: unexpected)
        return (level, identical)
    }

    enum Outcome {
        /// Equal bytes with no cast; `identicalTo` names the source tensor when nothing was
        /// replayed on it (the converted tensor is that tensor, byte for byte).
        case exact(identicalTo: String?)
        case castExact
        case mismatch(WeightMismatch)
    }

    /// Steps to replay: the produced steps minus the prefix the source tensor already carried.
    static func stepsToReplay(_ produced: [TransformStep], sourceSteps: [TransformStep]) -> [TransformStep] {
        if !sourceSteps.isEmpty, produced.count >= sourceSteps.count, Array(produced.prefix(sourceSteps.count)) == sourceSteps {
            return Array(produced.dropFirst(sourceSteps.count))
        }
        return produced
    }

    static func compare(_ entry: TensorEntry, _ produced: ConversionSummary.ProducedTensor, source: NeutralModel) -> Outcome {
        func fail(_ problem: String, differing: Int? = nil, maxAbs: Double? = nil) -> Outcome {
            .mismatch(WeightMismatch(name: entry.name, sources: produced.sources, transforms: produced.transforms,
                                     problem: problem, differingElements: differing, maxAbs: maxAbs))
        }
        guard let first = produced.sources.first, let start = source.tensors[first] else {
            return fail("its source tensor \(produced.sources.first ?? "(none)") is not in the source model")
        }
        let steps = stepsToReplay(produced.transforms, sourceSteps: start.provenance.transforms)
        var expected: TensorRef
        do {
            expected = try TransformReplay.apply(steps, to: start.tensor, tensor: entry.name) { source.tensors[$0]?.tensor }
        } catch {
            return fail(error.localizedDescription)
        }
        let actual = entry.tensor
        var hadCast = steps.contains {
            switch $0 { case .cast, .quantize: return true; default: return false }
        }
        if expected.dtype != actual.dtype, !hadCast, expected.dtype.isCastableFloat, actual.dtype.isCastableFloat {
            // A float dtype change the provenance does not state (e.g. `porter verify` without
            // `--dtype`): check it as that cast, so the values must be the correctly rounded ones.
            do { expected = try expected.cast(to: actual.dtype, name: entry.name) } catch { return fail(error.localizedDescription) }
            hadCast = true
        }
        guard expected.dtype == actual.dtype else {
            return fail("dtype is \(actual.dtype.rawValue), the replayed source is \(expected.dtype.rawValue)")
        }
        guard expected.shape == actual.shape else {
            return fail("shape is \(actual.shape), the replayed source is \(expected.shape)")
        }
        do {
            let same = try actual.withContiguousBytes { a in
                try expected.withContiguousBytes { e in a.count == e.count && (a.count == 0 || memcmp(a.baseAddress!, e.baseAddress!, a.count) == 0) }
            }
            if same {
                if hadCast { return .castExact }
                let untouched = steps.isEmpty && expected.dtype == start.tensor.dtype && expected.shape == start.tensor.shape
                return .exact(identicalTo: untouched ? first : nil)
            }
            let a = try actual.contiguousBytes()
            let e = try expected.contiguousBytes()
            let size = actual.dtype.byteSize
            var differing = 0
            let count = a.count / max(size, 1)
            for i in 0..<count where a[(i * size)..<((i + 1) * size)] != e[(i * size)..<((i + 1) * size)] { differing += 1 }
            var maxAbs: Double?
            if actual.dtype.isCastableFloat {
                let av = try a.withUnsafeBytes { try FloatConversion.toFloat32($0, dtype: actual.dtype) }
                let ev = try e.withUnsafeBytes { try FloatConversion.toFloat32($0, dtype: actual.dtype) }
                var m = 0.0
                for i in 0..<av.count where av[i].isFinite && ev[i].isFinite { m = max(m, Double(abs(av[i] - ev[i]))) }
                maxAbs = m
            }
            let what = hadCast ? "differ from the source re-cast the same way" : "differ from its source"
            return fail("\(differing) of \(count) elements \(what)", differing: differing, maxAbs: maxAbs)
        } catch {
            return fail("could not be read: \(error.localizedDescription)")
        }
    }
}

/// Results of the parallel comparison, one slot per tensor.
final class OutcomeSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [WeightsCheck.Outcome?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ outcome: WeightsCheck.Outcome) {
        lock.lock(); defer { lock.unlock() }
        slots[i] = outcome
    }

    func get(_ i: Int) -> WeightsCheck.Outcome? {
        lock.lock(); defer { lock.unlock() }
        return slots[i]
    }

    /// Hands out 0, 1, 2, … to workers.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func take(below limit: Int) -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard value < limit else { return nil }
            defer { value += 1 }
            return value
        }
    }
}
