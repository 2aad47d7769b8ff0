import Foundation
import PorterCore

/// Writes a `VerificationReport` as `report.json`, `report.md` and a self-contained
/// `report.html` (inline CSS and SVG, no scripts, no network).
public enum ReportWriter {
    /// The three file names written into the report folder.
    public static let fileNames = ["report.json", "report.md", "report.html"]

    /// Writes the three files into `directory` (created if needed). Each file is written
    /// to a temporary sibling and renamed into place, so a reader never sees half a file.
    /// Nothing is flushed to disk (no fsync) unless `syncToDisk` (`--fsync`).
    public static func write(_ report: VerificationReport, to directory: URL, syncToDisk: Bool = false) throws {
        let fm = FileManager.default
        do { try fm.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw CoreError.cannotWrite(path: directory.path, reason: error.localizedDescription)
        }
        let contents: [(String, Data)] = [
            ("report.json", try json(report)),
            ("report.md", Data(markdown(report).utf8)),
            ("report.html", Data(html(report).utf8)),
        ]
        for (name, data) in contents {
            let target = directory.appendingPathComponent(name)
            let temp = directory.appendingPathComponent(".\(name).porter-\(UUID().uuidString.prefix(8)).tmp")
            do {
                try OutputFile.write(data, to: temp, syncToDisk: syncToDisk)
                // rename(2) replaces an existing report atomically.
                guard rename(temp.path, target.path) == 0 else { throw CoreError.cannotWrite(path: target.path, reason: posixMessage()) }
            } catch {
                try? fm.removeItem(at: temp)
                throw CoreError.cannotWrite(path: target.path, reason: error.localizedDescription)
            }
        }
    }

    /// `report.json`: sorted keys, pretty-printed, trailing newline.
    public static func json(_ report: VerificationReport) throws -> Data {
        let encoder = JSONValue.encoder(pretty: true)
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var data = try encoder.encode(report)
        data.append(0x0A)
        return data
    }

    // MARK: - Markdown

    /// `report.md`.
    public static func markdown(_ r: VerificationReport) -> String {
        var out: [String] = []
        out.append("# Porter verification: \(r.passed ? "PASSED" : "FAILED")")
        out.append("")
        out.append("Porter \(r.porterVersion) · schema `\(r.schema)`" + (r.createdAt.map { " · \($0)" } ?? ""))
        out.append("")
        out.append("| model | path | format | tensors | parameters | dtypes | graph |")
        out.append("|---|---|---|---:|---:|---|---|")
        for (label, m) in [("source", r.source), ("converted", r.converted)] {
            out.append("| \(label) | `\(md(m.path))` | \(md(m.format)) | \(m.tensorCount) | \(m.parameterCount) | \(m.dtypes.joined(separator: ", ")) | \(md(m.graph ?? "none")) |")
        }
        out.append("")
        out.append("## Result")
        out.append("")
        for line in levelLines(r) { out.append("- \(line)") }
        if !r.failures.isEmpty {
            out.append("")
            out.append("Failures:")
            out.append("")
            for f in r.failures { out.append("- \(md(f))") }
        }
        out.append("")
        out.append("Tolerance: atol \(num(r.tolerance.atol)), rtol \(num(r.tolerance.rtol)) (\(toleranceBasis(r.tolerance))); an element passes when |converted − expected| ≤ atol + rtol·|expected|.")
        if let c = r.conversion {
            out.append("")
            out.append("## Conversion")
            out.append("")
            out.append("Mapping: \(md(c.mapping ?? "none")) · dtype: \(md(c.dtype ?? "keep")) · \(c.produced.count) produced, \(c.dropped.count) dropped (\(c.droppedBytes) bytes), \(c.unmapped.count) unmapped (\(c.unmappedBytes) bytes)")
            if !c.dropped.isEmpty {
                out.append("")
                out.append("| dropped | bytes | reason |")
                out.append("|---|---:|---|")
                for d in c.dropped { out.append("| `\(md(d.name))` | \(d.byteCount) | \(md(d.reason)) |") }
            }
            if !c.unmapped.isEmpty {
                out.append("")
                out.append("| unmapped | bytes | carried over |")
                out.append("|---|---:|---|")
                for u in c.unmapped { out.append("| `\(md(u.name))` | \(u.byteCount) | \(u.carriedOver ? "yes" : "no") |") }
            }
            if !c.overflows.isEmpty {
                out.append("")
                for (name, n) in c.overflows.sorted(by: { $0.key < $1.key }) { out.append("- `\(md(name))`: \(n) value(s) overflowed to infinity in the cast") }
            }
        }
        out.append("")
        out.append("## Weights")
        out.append("")
        let w = r.weights
        out.append("\(w.status.rawValue): \(w.checked) tensors checked, \(w.bitExact) bit-exact, \(w.castExact) equal to the source re-cast, \(w.mismatches.count) mismatched, \(w.missing.count) missing, \(w.unexpected.count) unexpected.")
        if !w.mismatches.isEmpty {
            out.append("")
            out.append("| tensor | from | transforms | problem | max abs |")
            out.append("|---|---|---|---|---:|")
            for m in w.mismatches {
                out.append("| `\(md(m.name))` | \(md(m.sources.joined(separator: ", "))) | \(m.transforms.isEmpty ? "–" : md(m.transforms.map(\.description).joined(separator: "; "))) | \(md(m.problem)) | \(m.maxAbs.map(num) ?? "–") |")
            }
        }
        if !w.missing.isEmpty { out.append(""); out.append("Missing from the converted model: " + w.missing.map { "`\(md($0))`" }.joined(separator: ", ")) }
        if !w.unexpected.isEmpty { out.append(""); out.append("Not from any source tensor: " + w.unexpected.map { "`\(md($0))`" }.joined(separator: ", ")) }
        out.append("")
        out.append("## Forward")
        out.append("")
        let f = r.forward
        out.append("\(f.status.rawValue)" + (f.reason.map { ": \(md($0))" } ?? "") + " · seed \(f.seed)")
        appendInputs(f.inputs, to: &out)
        appendOutputs(f.outputs, to: &out)
        if let d = f.firstDivergence {
            out.append("")
            out.append("First diverging node: `\(md(d.node))` (\(md(d.op)), output `\(md(d.output))`, node output #\(d.position)): max abs \(num(d.metrics.maxAbs)), \(d.metrics.outsideTolerance) of \(d.metrics.count) elements outside tolerance" + (d.weights.isEmpty ? "." : "; weights read: " + d.weights.map { "`\(md($0))`" }.joined(separator: ", ") + "."))
        }
        if !f.layers.isEmpty {
            out.append("")
            out.append("| layer | at node | max abs | mean abs | within |")
            out.append("|---|---|---:|---:|---|")
            for l in f.layers { out.append("| \(md(l.layer)) | `\(md(l.node))` | \(num(l.maxAbs)) | \(num(l.meanAbs)) | \(l.withinTolerance ? "yes" : "no") |") }
        }
        if let ref = r.reference {
            out.append("")
            out.append("## Reference")
            out.append("")
            out.append("\(ref.status.rawValue)" + (ref.reason.map { ": \(md($0))" } ?? "") + " · `\(md(ref.path))`")
            appendInputs(ref.inputs, to: &out)
            appendOutputs(ref.outputs, to: &out)
            if !ref.notCompared.isEmpty { out.append(""); out.append("Not produced by the converted graph: " + ref.notCompared.map { "`\(md($0))`" }.joined(separator: ", ")) }
        }
        if let t = r.tokenizer {
            out.append("")
            out.append("## Tokenizer")
            out.append("")
            out.append("\(t.status.rawValue)" + (t.reason.map { ": \(md($0))" } ?? "") + " · \(t.textsCompared) texts compared, \(t.textsDiffering) differ")
            if let d = t.firstDifference {
                out.append("")
                out.append("First difference: text \(d.textIndex) `\(md(d.text.debugDescription))`, token \(d.position)\(d.withSpecialTokens ? " (with special tokens)" : "")")
                out.append("")
                out.append("| side | ids | tokens |")
                out.append("|---|---|---|")
                out.append("| source | \(d.source.ids.map(String.init).joined(separator: " ")) | \(md(d.source.tokens.map { $0.debugDescription }.joined(separator: " "))) |")
                out.append("| converted | \(d.converted.ids.map(String.init).joined(separator: " ")) | \(md(d.converted.tokens.map { $0.debugDescription }.joined(separator: " "))) |")
            }
        }
        if !r.notes.isEmpty {
            out.append("")
            out.append("## Notes")
            out.append("")
            for n in r.notes { out.append("- \(md(n))") }
        }
        out.append("")
        return out.joined(separator: "\n")
    }

    static func appendInputs(_ inputs: [InputDescription], to out: inout [String]) {
        guard !inputs.isEmpty else { return }
        out.append("")
        out.append("| input | dtype | shape | values |")
        out.append("|---|---|---|---|")
        for i in inputs { out.append("| `\(md(i.name))` | \(i.dtype) | \(shape(i.shape)) | \(md(i.origin)) |") }
    }

    static func appendOutputs(_ outputs: [OutputComparison], to out: inout [String]) {
        guard !outputs.isEmpty else { return }
        out.append("")
        out.append("| output | shape | max abs | max rel | mean abs | cosine | argmax | top-5 | outside tol. | within |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for o in outputs {
            let m = o.metrics
            out.append("| `\(md(o.name))` | \(shape(o.shape)) | \(num(m.maxAbs)) | \(num(m.maxRel)) | \(num(m.meanAbs)) | \(cos(m.cosine)) | \(pct(m.argmaxAgreement)) | \(pct(m.top5Agreement)) | \(m.outsideTolerance + m.nonFiniteMismatches) | \(o.withinTolerance ? "yes" : "no") |")
        }
    }

    static func levelLines(_ r: VerificationReport) -> [String] {
        var lines: [String] = []
        let w = r.weights
        lines.append("weights: **\(w.status.rawValue)** (\(w.checked) checked: \(w.bitExact) bit-exact, \(w.castExact) within cast rounding)")
        var fwd = "forward: **\(r.forward.status.rawValue)**"
        if let reason = r.forward.reason { fwd += " (\(md(reason)))" }
        if let d = r.forward.firstDivergence { fwd += " · first diverging node `\(md(d.node))` (\(md(d.op)))" }
        lines.append(fwd)
        if let ref = r.reference {
            lines.append("reference: **\(ref.status.rawValue)**" + (ref.reason.map { " (\(md($0)))" } ?? ""))
        } else {
            lines.append("reference: **skipped** (no reference file given)")
        }
        if let t = r.tokenizer {
            lines.append("tokenizer: **\(t.status.rawValue)**" + (t.reason.map { " (\(md($0)))" } ?? ""))
        }
        return lines
    }

    static func toleranceBasis(_ t: ToleranceUsed) -> String {
        t.overridden ? "set on the command line" : "default for \(t.basis)" + (t.from.map { " from \($0)" } ?? "")
    }

    // MARK: - Formatting

    /// Three significant digits, `0` for zero.
    static func num(_ x: Double) -> String {
        if x == 0 { return "0" }
        if !x.isFinite { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        return String(format: "%.3g", x)
    }

    static func cos(_ x: Double) -> String { String(format: "%.6f", x) }

    static func pct(_ x: Double?) -> String {
        guard let x else { return "–" }
        return String(format: "%.1f%%", x * 100)
    }

    static func shape(_ dims: [Int]) -> String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }

    /// Escapes table separators and line breaks for Markdown.
    static func md(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
