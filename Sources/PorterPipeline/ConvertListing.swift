import Foundation
import PorterCore
import PorterMapping
import PorterVerifier

/// `porter convert --json`, `-v` and `--dry-run` listings of a `ConvertResult`: what was (or
/// would be) read, mapped, cast, dropped and written, tensor by tensor.
extension ConvertResult {
    /// One converted tensor and the source tensors it was made from.
    public struct TensorLine: Sendable, Codable, Equatable {
        public struct Side: Sendable, Codable, Equatable {
            public var name: String
            public var dtype: String
            public var shape: [Int]
            public var bytes: Int
        }
        public var name: String
        public var dtype: String
        public var shape: [Int]
        /// Bytes it takes in the output (block-quantized tensors at their block size).
        public var bytes: Int
        /// Set when it shares its elements with an earlier tensor (stored once).
        public var aliasOf: String?
        public var sources: [Side]
        public var transforms: [TransformStep]
    }

    /// Every converted tensor, in the converted model's order.
    public var tensorLines: [TensorLine] {
        let produced = ConversionSummary(convertedInMemory: convertedModel, source: sourceModel).produced
        let byName = Dictionary(produced.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let aliases = convertedModel.tensors.aliases()
        return convertedModel.tensors.map { entry in
            let p = byName[entry.name]
            let sources = (p?.sources ?? []).map { name -> TensorLine.Side in
                guard let s = sourceModel.tensors[name] else { return .init(name: name, dtype: "?", shape: [], bytes: 0) }
                return .init(name: name, dtype: s.tensor.dtype.rawValue, shape: s.tensor.shape.dims, bytes: s.tensor.byteCount)
            }
            return TensorLine(name: entry.name, dtype: Self.storedDType(entry), shape: entry.tensor.shape.dims,
                              bytes: Pipeline.storedBytes(entry), aliasOf: aliases[entry.name], sources: sources,
                              transforms: p?.transforms ?? entry.provenance.transforms)
        }
    }

    /// The dtype the output stores: the block type for a tensor the writer quantizes.
    static func storedDType(_ entry: TensorEntry) -> String {
        for step in entry.provenance.transforms { if case let .quantize(to: name) = step { return name } }
        return entry.tensor.dtype.rawValue
    }

    /// The files the writer produces, as it declares them (`model.safetensors`; a folder's entries).
    public var plannedEntries: [String] {
        guard layout.isFolder else { return [DisplayPath.relative(output.path)] }
        func describe(_ e: OutputEntry) -> String {
            switch e {
            case let .file(name): return name
            case let .shards(base, suffix): return "\(base)-NNNNN-of-NNNNN\(suffix)"
            case let .folder(name, contents): return "\(name)/ (" + contents.map(describe).joined(separator: ", ") + ")"
            }
        }
        return layout.entries.map(describe)
    }

    /// The machine-readable form (`--json`): keys sorted, paths relative to the working
    /// folder, `verification` the report object of `--verify` (see docs/report-schema.md).
    public func json(verification: VerificationReport? = nil) throws -> String {
        struct Model: Codable {
            var path: String, format: String, formatName: String, tensorCount: Int, parameterCount: Int, bytes: Int
            var files: [String]?
        }
        struct Mapping: Codable { var name: String; var produced: Int; var dropped: Int; var unmapped: Int }
        struct Unmapped: Codable { var name: String; var byteCount: Int; var carriedOver: Bool }
        struct Dropped: Codable { var name: String; var reason: String; var byteCount: Int; var sourceFile: String }
        struct Document: Codable {
            var dryRun: Bool
            var source: Model
            var output: Model
            var dtype: String
            var mapping: Mapping?
            var tensors: [TensorLine]
            var dropped: [Dropped]
            var unmapped: [Unmapped]
            var overflows: [String: Int]
            var notes: [String]
            var verification: VerificationReport?
        }
        let doc = Document(
            dryRun: dryRun,
            source: Model(path: DisplayPath.relative(source.path), format: reader.id, formatName: reader.name,
                          tensorCount: sourceModel.tensors.count, parameterCount: sourceModel.tensors.parameterCount, bytes: sourceBytes),
            output: Model(path: DisplayPath.relative(output.path), format: writer.id, formatName: writer.name,
                          tensorCount: convertedModel.tensors.count, parameterCount: convertedModel.tensors.parameterCount,
                          bytes: outputBytes, files: plannedEntries),
            dtype: dtype.rawValue,
            mapping: accounting.map { Mapping(name: $0.mapping, produced: $0.produced.count, dropped: $0.dropped.count, unmapped: $0.unmapped.count) },
            tensors: tensorLines,
            dropped: convertedModel.dropped.map { Dropped(name: $0.name, reason: $0.reason, byteCount: $0.byteCount, sourceFile: DisplayPath.relative($0.sourceFile)) },
            unmapped: (accounting?.unmapped ?? []).map { Unmapped(name: $0.name, byteCount: $0.byteCount, carriedOver: allowUnmapped) },
            overflows: overflows, notes: convertedModel.notes, verification: verification)
        let encoder = JSONValue.encoder(pretty: true)
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(doc), as: UTF8.self) + "\n"
    }

    /// `-v` and `--dry-run`: each tensor read → written with dtype, shape and size, each
    /// dropped tensor with its reason, and the files written.
    public func detail() -> String {
        var lines: [String] = []
        lines.append("  \(dryRun ? "would write" : "wrote"): " + plannedEntries.joined(separator: ", "))
        lines.append("  tensors (read → written):")
        for t in tensorLines {
            let read = t.sources.map { "\($0.name) \($0.dtype) \(Self.shape($0.shape)) \(ByteCountText.format($0.bytes))" }.joined(separator: " + ")
            var line = "    \(read.isEmpty ? "(no source)" : read) → \(t.name) \(t.dtype) \(Self.shape(t.shape)) \(ByteCountText.format(t.bytes))"
            let steps = t.transforms.map(\.description)
            if !steps.isEmpty { line += "  [\(steps.joined(separator: "; "))]" }
            if let a = t.aliasOf { line += "  (shares \(a), stored once)" }
            lines.append(line)
        }
        if !convertedModel.dropped.isEmpty {
            lines.append("  dropped (not written):")
            for d in convertedModel.dropped { lines.append("    \(d.name) \(ByteCountText.format(d.byteCount)): \(d.reason)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func shape(_ dims: [Int]) -> String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}

extension VerificationReport {
    /// `porter verify --json`: the report object, exactly as report.json holds it.
    public func jsonText() throws -> String { String(decoding: try ReportWriter.json(self), as: UTF8.self) }

    /// `porter verify -v`: every comparison the levels made, after the summary: each
    /// converted tensor against its source, each output's full metrics, each layer.
    public func detail() -> String {
        var lines: [String] = []
        let mismatched = Dictionary(weights.mismatches.map { ($0.name, $0.problem) }, uniquingKeysWith: { a, _ in a })
        let unexpected = Set(weights.unexpected)
        if let produced = conversion?.produced, !produced.isEmpty {
            lines.append("  weights, tensor by tensor:")
            for p in produced {
                let verdict = mismatched[p.name].map { "MISMATCH: \($0)" } ?? (unexpected.contains(p.name) ? "unexpected" : "equal")
                let steps = p.transforms.isEmpty ? "" : "  [\(p.transforms.map(\.description).joined(separator: "; "))]"
                lines.append("    \(p.name) ← \(p.sources.joined(separator: " + ")): \(verdict)\(steps)")
            }
        }
        for name in weights.missing { lines.append("    \(name): MISSING from the converted model") }
        let producedNames = Set(conversion?.produced.map(\.name) ?? [])
        for name in weights.unexpected where !producedNames.contains(name) {
            lines.append("    \(name): from no source tensor")
        }
        func rows(_ title: String, _ inputs: [InputDescription], _ outputs: [OutputComparison]) {
            guard !inputs.isEmpty || !outputs.isEmpty else { return }
            lines.append("  \(title):")
            for i in inputs { lines.append("    input \(i.name) \(i.dtype) \(ConvertResult.shape(i.shape)): \(i.origin)") }
            for o in outputs { lines.append("    output " + Self.metricsLine(o.name, o.shape, o.metrics, within: o.withinTolerance)) }
        }
        rows("forward", forward.inputs, forward.outputs)
        if !forward.layers.isEmpty {
            lines.append("  forward, layer by layer:")
            for l in forward.layers {
                var line = "    \(l.layer) (at \(l.node)): max abs \(ReportWriter.num(l.maxAbs)), mean abs \(ReportWriter.num(l.meanAbs))"
                if let f = l.toleranceFraction { line += ", \(ReportWriter.fractionText(f)) of tolerance" }
                lines.append(line + (l.withinTolerance ? "" : "  BEYOND TOLERANCE"))
            }
        }
        if let r = reference { rows("reference", r.inputs, r.outputs) }
        if failures.count > 10 {
            lines.append("  every failure:")
            for f in failures { lines.append("    \(f)") }
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }

    static func metricsLine(_ name: String, _ shape: [Int], _ m: ComparisonMetrics, within: Bool) -> String {
        var s = "\(name) \(ConvertResult.shape(shape)): max abs \(ReportWriter.num(m.maxAbs)), max rel \(ReportWriter.num(m.maxRel)), mean abs \(ReportWriter.num(m.meanAbs)), cosine \(ReportWriter.cosineText(m.cosine))"
        if let a = m.argmaxAgreement { s += ", argmax \(ReportWriter.pct(a))" }
        if let t = m.top5Agreement { s += ", top-5 \(ReportWriter.pct(t))" }
        if let f = m.toleranceFraction { s += ", \(ReportWriter.fractionText(f)) of tolerance" }
        s += ", \(m.outsideTolerance + m.nonFiniteMismatches) of \(m.count) outside tolerance"
        return s + (within ? "" : "  BEYOND TOLERANCE")
    }
}
