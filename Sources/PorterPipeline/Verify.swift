import Foundation
import PorterCore
import PorterMapping
import PorterTokenizers
import PorterVerifier

/// Settings of a verification run (`porter verify`, `porter convert --verify`).
public struct VerifyRequest: Sendable {
    /// A safetensors file of named inputs and outputs recorded by the original framework.
    public var reference: URL?
    public var atol: Double?
    public var rtol: Double?
    /// Folder for report.json / report.md / report.html (nil: no files).
    public var reportDirectory: URL?
    public var force: Bool
    /// When verifying two files after the fact: the mapping the conversion used, replayed
    /// on the source so each converted tensor is checked against the right source tensor.
    public var mapping: String?
    public var allowUnmapped: Bool
    public var dtype: DTypeChoice
    public var timestamped: Bool
    /// A converted model without the source's tokenizer passes the tokenizer level (`--allow-missing-tokenizer`).
    public var allowMissingTokenizer: Bool
    /// More texts for the tokenizer level, besides the built-in corpus (`--texts FILE`, one per line).
    public var tokenizerTexts: [String]
    /// fsync the report folder before it is moved into place (`convert --verify --fsync`);
    /// otherwise reports are left to the page cache like every other output.
    public var syncToDisk = false
    /// Progress of the weights level (bytes compared) and the forward runs.
    public var progress: any ProgressSink = SilentProgress()
    /// Trace every layer and fill the per-layer series even when the outputs agree, so a
    /// passing report shows the margin per layer too (`Verifier.Options.alwaysTraceLayers`).
    /// It costs a second pair of forward runs; nil traces only when a report is written
    /// (failing outputs are traced whatever this says).
    public var traceLayers: Bool? = nil
    /// Sizes the seeded inputs of the forward level give dynamic dims: the first axis
    /// (`--batch`) and every other (`--sequence`; an image model's height and width too).
    public var batch = 2
    public var sequence = 8
    /// The reader of the source, when detection should be skipped (`--from`).
    public var from: String?
    /// Settings of the source's reader (`--read-option`), checked against what it declares.
    public var readOptions: [String: String] = [:]

    public init(reference: URL? = nil, atol: Double? = nil, rtol: Double? = nil, reportDirectory: URL? = nil, force: Bool = false,
                mapping: String? = nil, allowUnmapped: Bool = false, dtype: DTypeChoice = .keep, timestamped: Bool = true,
                allowMissingTokenizer: Bool = false, tokenizerTexts: [String] = []) {
        self.allowMissingTokenizer = allowMissingTokenizer
        self.tokenizerTexts = tokenizerTexts
        self.reference = reference
        self.atol = atol
        self.rtol = rtol
        self.reportDirectory = reportDirectory
        self.force = force
        self.mapping = mapping
        self.allowUnmapped = allowUnmapped
        self.dtype = dtype
        self.timestamped = timestamped
    }
}

extension Pipeline {
    /// Verifies `converted` (as written to disk) against `source`.
    public func verify(source: URL, converted: URL, request: VerifyRequest) throws -> VerificationReport {
        let (_, sourceModel) = try reading(source, format: request.from, extra: request.readOptions, progress: request.progress)
        let (convertedFormat, convertedOnDisk) = try reading(converted, progress: request.progress)
        // Replay the mapping and cast in memory to know which source each tensor came from.
        let tally = OverflowTally()
        var expected = sourceModel
        var accounting: MappingAccounting?
        if let name = request.mapping {
            let mapping = try Mapping.resolve(name, searchPaths: mappingSearchPaths)
            (expected, accounting) = try MappingEngine(mapping).apply(to: sourceModel, allowUnmapped: request.allowUnmapped, tally: tally)
        }
        expected = try Self.applyDType(expected, request.dtype, tally: tally, writer: try? registry.writer(convertedFormat.id))
        let summary = ConversionSummary(convertedInMemory: expected, source: sourceModel, mapping: accounting?.mapping,
                                        dtype: request.dtype == .keep ? nil : request.dtype.rawValue, dropped: expected.dropped,
                                        unmapped: Self.unmapped(accounting, allowed: request.allowUnmapped), overflows: [:],
                                        graphDropped: accounting?.graphDropped)
        let convertedModel = Self.withConfig(runnableConfig(convertedOnDisk, at: converted), from: expected)
        let hint = request.mapping == nil ? mappingHint(source: sourceModel, converted: convertedOnDisk) : nil
        return try runVerifier(source: sourceModel, sourcePath: source, converted: convertedModel, convertedPath: converted,
                               summary: summary, request: request, mappingHint: hint)
    }

    /// The mappings under which the converted model's names pair with the source's, when they
    /// do not pair as they are: of the shipped (and `$PORTER_MAPPINGS`) mappings, those whose
    /// output tensors match most of the converted tensors by name and shape, if more than half.
    func mappingHint(source: NeutralModel, converted: NeutralModel) -> MappingHint? {
        var convertedShapes: [String: [Int]] = [:]
        for entry in converted.tensors { convertedShapes[entry.name] = entry.tensor.shape.dims }
        let pairedAsIs = source.tensors.filter { convertedShapes[$0.name] == $0.tensor.shape.dims }.count
        guard !convertedShapes.isEmpty, pairedAsIs < convertedShapes.count else { return nil }
        var best = MappingHint(names: [], paired: 0, of: convertedShapes.count)
        for candidate in Mapping.availableIncludingBuiltIn(in: mappingSearchPaths) {
            guard let mapping = try? Mapping.resolve(candidate.name, searchPaths: mappingSearchPaths),
                  let applied = try? MappingEngine(mapping).apply(to: source, allowUnmapped: true) else { continue }
            let paired = applied.0.tensors.filter { entry in
                !entry.provenance.transforms.contains(.unmapped) && convertedShapes[entry.name] == entry.tensor.shape.dims
            }.count
            guard paired > pairedAsIs, paired * 2 > convertedShapes.count, paired >= best.paired else { continue }
            if paired > best.paired { best.names = [] }
            best.names.append(candidate.name)
            best.paired = paired
        }
        return best.names.isEmpty ? nil : best
    }

    /// `read(url)` shown as a phase of no known size on `progress` (readers index files;
    /// tensor bytes are read when compared); the reader's own progress counts items.
    func reading(_ url: URL, format: String? = nil, extra: [String: String] = [:], progress: any ProgressSink) throws -> (FormatInfo, NeutralModel) {
        progress.begin("reading \(url.lastPathComponent)", totalUnits: 0, unit: .items)
        defer { progress.end() }
        return try read(url, format: format, options: ReadOptions(progress: CountingProgress(base: progress, unit: .items), extra: extra))
    }

    /// Verifies the output of a finished conversion, re-read from disk.
    public func verify(_ result: ConvertResult, request: VerifyRequest) throws -> VerificationReport {
        let (_, written) = try reading(result.output, progress: request.progress)
        let onDisk = Self.withConfig(runnableConfig(written, at: result.output), from: result.convertedModel)
        let summary = ConversionSummary(
            convertedInMemory: result.convertedModel, source: result.sourceModel, mapping: result.accounting?.mapping,
            dtype: result.dtype == .keep ? nil : result.dtype.rawValue,
            dropped: result.convertedModel.dropped,
            unmapped: Self.unmapped(result.accounting, allowed: result.allowUnmapped), overflows: result.overflows,
            graphDropped: result.accounting?.graphDropped)
        var request = request
        request.syncToDisk = request.syncToDisk || result.syncToDisk
        let report = try runVerifier(source: result.sourceModel, sourcePath: result.source, converted: onDisk, convertedPath: result.output,
                                     summary: summary, request: request)
        try ModelCard.record(report, for: result, registry: registry)
        return report
    }

    func runVerifier(source: NeutralModel, sourcePath: URL, converted: NeutralModel, convertedPath: URL,
                     summary: ConversionSummary, request: VerifyRequest,
                     mappingHint: MappingHint? = nil) throws -> VerificationReport {
        var reference: ReferenceOutputs?
        var recordedBy: String?
        if let url = request.reference {
            let (_, model) = try read(url)
            reference = ReferenceOutputs(path: url.path, model: model)
            recordedBy = model.metadata["porter.recorded_by"]
        }
        if let dir = request.reportDirectory, !request.force, FileManager.default.fileExists(atPath: dir.path) {
            throw CoreError.outputExists(path: dir.path)
        }
        var options = Verifier.Options(atol: request.atol, rtol: request.rtol, batch: request.batch, sequence: request.sequence,
                                       alwaysTraceLayers: request.traceLayers ?? (request.reportDirectory != nil))
        options.createdAt = request.timestamped ? Verifier.timestamp() : nil
        options.progress = request.progress
        // A graph stored with the source (Keras, SavedModel) reads the source's weight
        // names; when the output format stores no graph and a mapping renamed or relaid the
        // weights, no graph can run the converted model: the forward level does not apply.
        var sourceForVerifier = source
        var forwardNotApplicable: String?
        if source.graph != nil, converted.graph == nil, converted.config["model_type"] == nil, summary.graphDropped == nil {
            sourceForVerifier.graph = nil
            forwardNotApplicable = "the output format stores no graph and the weights no longer carry the names the source graph reads, "
                + "so no graph can run the converted model; verified at the weights level"
        }
        // An output format with a config of its own that names no architecture Porter builds
        // (GGUF metadata, after a mapping to llama.cpp names): nothing can run the converted
        // model, so the forward level does not apply (DESIGN: verified at the weights level).
        var summary = summary
        if converted.graph == nil, converted.config["model_type"] == nil, !(converted.config.objectValue ?? [:]).isEmpty,
           summary.mapping != nil, summary.graphDropped == nil {
            summary.graphDropped = "the converted model's names are the output format's (\(converted.sourceFormat)) and its config "
                + "names no architecture Porter builds a graph for"
        }
        var report = Verifier(options: options).verify(source: sourceForVerifier, converted: converted, reference: reference, summary: summary)
        if let reason = forwardNotApplicable, report.forward.status == .skipped {
            report.forward.reason = reason
            report.notes = report.notes.filter { !$0.hasPrefix("forward level skipped") } + ["forward level not applicable: \(reason)"]
        }
        // Paths relative to the working folder: a report holds no machine's absolute paths.
        report.source.path = DisplayPath.relative(sourcePath.path)
        report.converted.path = DisplayPath.relative(convertedPath.path)
        if let r = report.reference { report.reference?.path = DisplayPath.relative(r.path) }
        // Say which side ran where: the forward level runs both models on Porter's runtime, so
        // it proves the port, not that Porter's graph matches the original framework; the
        // reference level does that.
        if report.forward.status != .skipped {
            report.notes.append(VerificationReport.forwardSides + " (the same seeded inputs); "
                + "the original framework is compared only at the reference level")
        }
        if let level = report.reference {
            report.notes.append(VerificationReport.referenceSides + " "
                + (recordedBy ?? "the original framework (the file does not say which; `porter reference-script` records it)")
                + " in \(level.path)")
        }
        if let hint = mappingHint, !report.weights.missing.isEmpty || !report.weights.unexpected.isEmpty {
            // One actionable line instead of the lists of names that do not pair.
            let missing = report.weights.missing.count, unexpected = report.weights.unexpected.count
            let present = Set(converted.tensors.names)
            let absent = Set(report.weights.mismatches.filter { !present.contains($0.name) }.map { "weights: \($0.name): \($0.problem)" })
            report.failures.removeAll { absent.contains($0) || $0.hasPrefix("weights: \(missing) source tensor(s) are neither")
                || $0.hasPrefix("weights: \(unexpected) converted tensor(s) come from no source tensor") }
            let names = hint.names.map { "'\($0)'" }.joined(separator: " or ")
            report.failures.insert("weights: the names do not pair (\(missing) source tensor(s) not in the converted model, "
                + "\(unexpected) converted tensor(s) from no source tensor), but \(hint.paired) of the \(hint.of) converted tensors are, by name "
                + "and shape, what the mapping \(names) produces: rerun with --mapping \(hint.names[0])", at: 0)
        }
        Self.addTokenizerLevel(&report, source: (source, sourcePath), converted: (converted, convertedPath), request: request)
        if let t = report.tokenizer {
            report.tokenizer?.sourceTokenizer = t.sourceTokenizer.map(Self.relativeLeadingPath)
            report.tokenizer?.convertedTokenizer = t.convertedTokenizer.map(Self.relativeLeadingPath)
        }
        if let dir = request.reportDirectory {
            try AtomicOutput.write(to: dir, force: request.force,
                                   layout: .folder(ReportWriter.fileNames.map(OutputEntry.file), producer: "the report writer"),
                                   syncToDisk: request.syncToDisk) { temp in
                try ReportWriter.write(report, to: temp)
            }
        }
        return report
    }

    /// `/abs/model (tokenizer.json)` → `model (tokenizer.json)`: the path before the first ` (`.
    static func relativeLeadingPath(_ text: String) -> String {
        guard text.hasPrefix("/") else { return text }
        let cut = text.range(of: " (")?.lowerBound ?? text.endIndex
        return DisplayPath.relative(String(text[..<cut])) + text[cut...]
    }

    /// Runs the tokenizer level and folds its verdict into the report (a failure fails the run).
    static func addTokenizerLevel(_ report: inout VerificationReport, source: (NeutralModel, URL), converted: (NeutralModel, URL),
                                  request: VerifyRequest) {
        var isDir: ObjCBool = false
        let canHold = FileManager.default.fileExists(atPath: converted.1.path, isDirectory: &isDir) && isDir.boolValue
        let level = TokenizerCheck.run(source: tokenizerSide(source.0, at: source.1), converted: tokenizerSide(converted.0, at: converted.1),
                                       extraTexts: request.tokenizerTexts, allowMissing: request.allowMissingTokenizer,
                                       convertedCanHold: canHold)
        report.tokenizer = level
        if let failure = TokenizerCheck.failure(level) {
            report.failures.append(failure)
            report.passed = false
        } else if level.status == .skipped, let reason = level.reason, level.sourceTokenizer != nil || level.convertedTokenizer != nil {
            report.notes.append("tokenizer level skipped: \(reason)")
        }
    }

    /// A model's tokenizer: a `tokenizer.json` (else `tokenizer.model`) among its assets (as readers carry them),
    /// else the tokenizer files of its folder (`TokenizerLoader`).
    static func tokenizerSide(_ model: NeutralModel, at url: URL) -> TokenizerSide {
        // Tokenizers only a format's own files hold (GGUF metadata, a fairseq checkpoint's dictionary).
        if let side = FormatRegistry.formatTokenizer(model, at: url) { return side }
        if let asset = model.assets.first(where: { $0.fileName == "tokenizer.json" }) {
            let name = "\(url.path) (tokenizer.json)"
            do {
                return .present(try TokenizerJSON.parse(Data(asset.bytes), file: "tokenizer.json"), file: name)
            } catch {
                return .unreadable(file: name, error: error.localizedDescription)
            }
        }
        if let asset = model.assets.first(where: { $0.fileName == "tokenizer.model" }) {
            let name = "\(url.path) (tokenizer.model)"
            do {
                return .present(try SentencePieceModel.tokenizer(try SentencePieceModel.parse(asset.bytes, file: "tokenizer.model"), file: "tokenizer.model"), file: name)
            } catch {
                return .unreadable(file: name, error: error.localizedDescription)
            }
        }
        // FSMT's files among the assets (a Porter folder keeps them there).
        if let v = model.assets.first(where: { $0.fileName == "vocab-src.json" }), let m = model.assets.first(where: { $0.fileName == "merges.txt" }) {
            let name = "\(url.path) (vocab-src.json + merges.txt)"
            do {
                let config = model.assets.first { $0.fileName == "tokenizer_config.json" }?.bytes
                return .present(try SlowTokenizerFiles.fsmt(vocab: v.bytes, merges: m.bytes, config: config, file: name), file: name)
            } catch {
                return .unreadable(file: name, error: error.localizedDescription)
            }
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue, TokenizerLoader.hasTokenizer(at: url) {
            do {
                let t = try TokenizerLoader.load(url)
                return .present(t, file: "\(url.path) (\(t.origin))")
            } catch {
                return .unreadable(file: url.path, error: error.localizedDescription)
            }
        }
        return .absent
    }

    /// Output formats without a config (a bare `.bin` or `.safetensors`) still describe the
    /// same architecture: verification then builds the converted graph from the config the
    /// conversion carried, and says so.
    /// A file whose own config names no architecture (GGUF metadata) runs with the config its
    /// reader translates from that metadata (`ConversionPreparing`, as for `--to hf`), so the
    /// forward level also checks what the file says about the model; the names stay the file's.
    func runnableConfig(_ model: NeutralModel, at url: URL) -> NeutralModel {
        guard model.config["model_type"] == nil, model.graph == nil,
              let reader = try? registry.reader(for: url, format: nil) as? any ConversionPreparing,
              let prepared = try? reader.prepared(model, forWriter: "hf") else { return model }
        var out = model
        out.config = prepared.model.config
        out.notes.append("the graph was built from the transformers config translated from the file's own metadata")
        return out
    }

    static func withConfig(_ onDisk: NeutralModel, from intended: NeutralModel) -> NeutralModel {
        var model = onDisk
        if (model.config.objectValue ?? [:]).isEmpty, let cfg = intended.config.objectValue, !cfg.isEmpty {
            model.config = intended.config
            model.notes.append("the output format stores no config; the converted graph was built from the source's config")
        }
        if model.graph == nil, let graph = intended.graph, Self.weightNames(of: graph).allSatisfy({ model.tensors[$0] != nil }) {
            model.graph = graph
            model.notes.append("the output format stores no graph; the converted model ran the source's graph over its own weights")
        }
        return model
    }

    /// Names a graph reads that are neither graph inputs nor node outputs: its weights.
    static func weightNames(of graph: Graph) -> Set<String> {
        var produced = Set(graph.inputs.map(\.name))
        var weights = Set<String>()
        for node in graph.nodes {
            for input in node.inputs where !input.isEmpty && !produced.contains(input) { weights.insert(input) }
            produced.formUnion(node.outputs)
        }
        return weights
    }

    static func unmapped(_ accounting: MappingAccounting?, allowed: Bool) -> [ConversionSummary.Unmapped] {
        (accounting?.unmapped ?? []).map { .init(name: $0.name, byteCount: $0.byteCount, carriedOver: allowed) }
    }
}

/// The mappings `verify` suggests when the names do not pair (`mappingHint`).
struct MappingHint: Sendable {
    var names: [String]
    var paired: Int
    var of: Int
}

extension VerificationReport {
    /// A few lines for a terminal: verdict, each level, where outputs first diverge.
    /// One line for `-q`: the verdict and the first failure (`porter: verification FAILED: …`).
    public func verdictLine() -> String {
        guard !passed else { return "porter: verification PASSED" }
        var line = "porter: verification FAILED"
        if let first = failures.first { line += ": \(first)" }
        if failures.count > 1 { line += " (and \(failures.count - 1) more failure\(failures.count == 2 ? "" : "s"))" }
        return line
    }

    public func terminalSummary() -> String {
        var lines = ["verification \(passed ? "PASSED" : "FAILED")"]
        lines.append("  weights:   \(weights.status.rawValue) (\(weights.checked) checked, \(weights.bitExact) bit-exact, \(weights.castExact) exact after cast)")
        var f = "  forward:   \(forward.status.rawValue)"
        if let reason = forward.reason { f += " (\(reason))" }
        let sides = notes.filter { $0.hasPrefix(Self.forwardSides) || $0.hasPrefix(Self.referenceSides) }
        if forward.status != .skipped { f += " (Porter runtime on source vs converted)" }
        lines.append(f)
        for o in forward.outputs {
            lines.append("    \(o.name): max abs \(Self.short(o.metrics.maxAbs)), cosine \(ReportWriter.cosineText(o.metrics.cosine))\(Self.margin(o.metrics))\(o.withinTolerance ? "" : "  BEYOND TOLERANCE")")
        }
        if let d = forward.firstDivergence {
            lines.append("    first divergence: node \(d.node) (\(d.op)), max abs \(Self.short(d.metrics.maxAbs))\(d.weights.isEmpty ? "" : ", weights \(d.weights.joined(separator: ", "))")")
        }
        if let r = reference {
            var line = "  reference: \(r.status.rawValue) ("
                + (sides.first { $0.hasPrefix(Self.referenceSides) }.map { String($0.dropFirst("reference: ".count)) } ?? r.path) + ")"
            if let reason = r.reason { line += " (\(reason))" }
            lines.append(line)
            for o in r.outputs {
                lines.append("    \(o.name): max abs \(Self.short(o.metrics.maxAbs)), cosine \(ReportWriter.cosineText(o.metrics.cosine))\(Self.margin(o.metrics))\(o.withinTolerance ? "" : "  BEYOND TOLERANCE")")
            }
            for name in r.notCompared {
                lines.append("    \(name): not compared (the converted graph does not produce it)")
            }
        }
        lines.append("  tolerance: atol \(tolerance.atol), rtol \(tolerance.rtol) (\(tolerance.overridden ? "set" : "default for \(tolerance.basis)"))")
        if let t = tokenizer {
            var line = "  tokenizer: \(t.status.rawValue)"
            if t.status != .skipped { line += " (\(t.textsCompared) texts, \(t.textsDiffering) differ)" }
            if let reason = t.reason { line += " (\(reason))" }
            lines.append(line)
            if let d = t.firstDifference {
                lines.append("    first difference: text \(d.textIndex) \(d.text.debugDescription.prefix(60)) at token \(d.position)")
                lines.append("      source:    \(d.source.tokens.map { $0.debugDescription }.joined(separator: " "))")
                lines.append("      converted: \(d.converted.tokens.map { $0.debugDescription }.joined(separator: " "))")
            }
        }
        for failure in failures.prefix(10) { lines.append("  failure: \(failure)") }
        if failures.count > 10 { lines.append("  … \(failures.count - 10) more failures in the report") }
        for note in notes where !sides.contains(note) { lines.append("  note: \(note)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func short(_ v: Double) -> String { String(format: "%.3g", v) }

    /// `, 12% of tolerance` when the share was measured.
    static func margin(_ m: ComparisonMetrics) -> String {
        m.toleranceFraction.map { ", \(ReportWriter.fractionText($0)) of tolerance" } ?? ""
    }
    static let forwardSides = "forward: Porter runtime on source vs converted"
    static let referenceSides = "reference: Porter runtime on the converted model against outputs recorded by"
}
