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
                if c.dropped.count > foldAbove {
                    out.append("")
                    for (reason, n, bytes) in droppedByReason(c.dropped) { out.append("- \(n) × \(md(reason)) (\(bytes) bytes)") }
                }
                appendTable(["| dropped | bytes | reason |", "|---|---:|---|"],
                            c.dropped.map { "| `\(md($0.name))` | \($0.byteCount) | \(md($0.reason)) |" },
                            summary: "\(c.dropped.count) dropped tensors (\(c.droppedBytes) bytes)", to: &out)
            }
            if !c.unmapped.isEmpty {
                appendTable(["| unmapped | bytes | carried over |", "|---|---:|---|"],
                            c.unmapped.map { "| `\(md($0.name))` | \($0.byteCount) | \($0.carriedOver ? "yes" : "no") |" },
                            summary: "\(c.unmapped.count) unmapped tensors (\(c.unmappedBytes) bytes)", to: &out)
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
            appendTable(["| tensor | from | transforms | problem | max abs |", "|---|---|---|---|---:|"], w.mismatches.map { m in
                "| `\(md(m.name))` | \(md(m.sources.joined(separator: ", "))) | \(m.transforms.isEmpty ? "–" : md(m.transforms.map(\.description).joined(separator: "; "))) | \(md(m.problem)) | \(m.maxAbs.map(num) ?? "–") |"
            }, summary: "\(w.mismatches.count) mismatched tensors", to: &out)
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
            appendTable(["| layer | at node | max abs | mean abs | of tolerance | within |", "|---|---|---:|---:|---:|---|"], f.layers.map { l in
                "| \(md(l.layer)) | `\(md(l.node))` | \(num(l.maxAbs)) | \(num(l.meanAbs)) | \(l.toleranceFraction.map(fractionText) ?? "–") | \(l.withinTolerance ? "yes" : "no") |"
            }, summary: "\(f.layers.count) layers", to: &out)
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
        appendTable(["| output | shape | max abs | max rel | mean abs | cosine | argmax | top-5 | of tolerance | outside tol. | within |",
                     "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"], outputs.map { o in
            let m = o.metrics
            return "| `\(md(o.name))` | \(shape(o.shape)) | \(num(m.maxAbs)) | \(num(m.maxRel)) | \(num(m.meanAbs)) | \(cosineText(m.cosine)) | \(pct(m.argmaxAgreement)) | \(pct(m.top5Agreement)) | \(m.toleranceFraction.map(fractionText) ?? "–") | \(m.outsideTolerance + m.nonFiniteMismatches) | \(o.withinTolerance ? "yes" : "no") |"
        }, summary: "\(outputs.count) outputs", to: &out)
    }

    /// Tables longer than this are folded (`<details>`) in report.md and report.html.
    public static let foldAbove = 20

    /// A Markdown table after a blank line; folded in `<details>` when it has more than `foldAbove` rows.
    static func appendTable(_ header: [String], _ rows: [String], summary: String, to out: inout [String]) {
        out.append("")
        let fold = rows.count > foldAbove
        if fold { out.append("<details><summary>\(h(summary))</summary>"); out.append("") }
        out += header
        out += rows
        if fold { out.append(""); out.append("</details>") }
    }

    /// Dropped tensors counted by reason, sorted by reason: (reason, count, bytes).
    static func droppedByReason(_ dropped: [ConversionSummary.Dropped]) -> [(String, Int, Int)] {
        var by: [String: (Int, Int)] = [:]
        for d in dropped { by[d.reason, default: (0, 0)].0 += 1; by[d.reason, default: (0, 0)].1 += d.byteCount }
        return by.sorted { $0.key < $1.key }.map { ($0.key, $0.value.0, $0.value.1) }
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
    public static func num(_ x: Double) -> String {
        if x == 0 { return "0" }
        if !x.isFinite { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        return String(format: "%.3g", x)
    }

    /// A cosine similarity with enough digits to differ from 1 when it does: `1` only when
    /// it is exactly 1, `1 − 1.8e-4` within 10⁻³ of 1 (0.99982), else six decimals.
    public static func cosineText(_ x: Double) -> String {
        guard x.isFinite else { return num(x) }
        if x == 1 { return "1" }
        let d = 1 - x
        if Swift.abs(d) < 1e-3 { return (d > 0 ? "1 − " : "1 + ") + scientific(Swift.abs(d)) }
        return String(format: "%.6f", x)
    }

    /// `1.8e-4` (two significant digits, no padded exponent).
    static func scientific(_ x: Double) -> String {
        var s = String(format: "%.1e", x)  // 1.8e-04
        s = s.replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+0", with: "e")
        return s.replacingOccurrences(of: ".0e", with: "e")
    }

    /// A `toleranceFraction` as a share of the tolerance: `0%` when the outputs are equal,
    /// `12.3%`, `0.0021%`; ten times the tolerance and more as a multiple (`952×`, `1.2e6×`).
    public static func fractionText(_ x: Double) -> String {
        if x == 0 { return "0%" }
        if x >= 10 { return (x < 1e5 ? String(format: "%.0f", x) : scientific(x)) + "×" }
        return String(format: "%.3g", x * 100) + "%"
    }

    public static func pct(_ x: Double?) -> String {
        guard let x else { return "–" }
        return String(format: "%.1f%%", x * 100)
    }

    static func shape(_ dims: [Int]) -> String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }

    /// Escapes table separators and line breaks for Markdown.
    static func md(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
