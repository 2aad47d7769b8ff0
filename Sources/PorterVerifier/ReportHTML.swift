import Foundation

extension ReportWriter {
    /// `report.html`: one self-contained page (inline CSS, inline SVG chart, no scripts).
    public static func html(_ r: VerificationReport) -> String {
        var b: [String] = []
        b.append("<!DOCTYPE html>")
        b.append("<html lang=\"en\"><head><meta charset=\"utf-8\">")
        b.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        b.append("<title>Porter verification: \(r.passed ? "passed" : "FAILED")</title>")
        b.append("<style>\(css)</style></head><body>")
        b.append("<h1>Porter verification <span class=\"badge \(r.passed ? "pass" : "fail")\">\(r.passed ? "PASSED" : "FAILED")</span></h1>")
        b.append("<p class=\"meta\">Porter \(h(r.porterVersion)) · schema <code>\(h(r.schema))</code>\(r.createdAt.map { " · \(h($0))" } ?? "")</p>")

        b.append("<table><tr><th>model</th><th>path</th><th>format</th><th class=\"n\">tensors</th><th class=\"n\">parameters</th><th>dtypes</th><th>graph</th></tr>")
        for (label, m) in [("source", r.source), ("converted", r.converted)] {
            b.append("<tr><td>\(label)</td><td><code>\(h(m.path))</code></td><td>\(h(m.format))</td><td class=\"n\">\(m.tensorCount)</td><td class=\"n\">\(m.parameterCount)</td><td>\(h(m.dtypes.joined(separator: ", ")))</td><td>\(h(m.graph ?? "none"))</td></tr>")
        }
        b.append("</table>")

        b.append("<h2>Result</h2><table><tr><th>level</th><th>status</th><th>detail</th></tr>")
        let w = r.weights
        b.append(levelRow("weights", w.status, "\(w.checked) checked: \(w.bitExact) bit-exact, \(w.castExact) within cast rounding, \(w.mismatches.count) mismatched, \(w.missing.count) missing, \(w.unexpected.count) unexpected"))
        var fwd = r.forward.reason ?? "\(r.forward.outputs.count) output(s) compared"
        if let d = r.forward.firstDivergence { fwd += "; first diverging node \(d.node) (\(d.op))" }
        b.append(levelRow("forward", r.forward.status, fwd))
        if let ref = r.reference {
            b.append(levelRow("reference", ref.status, ref.reason ?? "\(ref.outputs.count) output(s) compared with \(ref.path)"))
        } else {
            b.append(levelRow("reference", .skipped, "no reference file given"))
        }
        b.append("</table>")
        if !r.failures.isEmpty {
            b.append("<ul class=\"failures\">" + r.failures.map { "<li>\(h($0))</li>" }.joined() + "</ul>")
        }
        b.append("<p>Tolerance: atol \(num(r.tolerance.atol)), rtol \(num(r.tolerance.rtol)) (\(h(toleranceBasis(r.tolerance)))); an element passes when |converted − expected| ≤ atol + rtol·|expected|.</p>")

        if let d = r.forward.firstDivergence {
            b.append("<div class=\"diverge\"><strong>First diverging node:</strong> <code>\(h(d.node))</code> (\(h(d.op)), output <code>\(h(d.output))</code>, node output #\(d.position)) — max abs \(num(d.metrics.maxAbs)), \(d.metrics.outsideTolerance) of \(d.metrics.count) elements outside tolerance"
                     + (d.weights.isEmpty ? "" : "; weights read: " + d.weights.map { "<code>\(h($0))</code>" }.joined(separator: ", ")) + ".</div>")
        }
        // The margin to the tolerance, passing or not: every compared output, then every layer.
        var outputBars = r.forward.outputs.map { MarginBar(label: "forward: \($0.name)", fraction: $0.metrics.toleranceFraction, within: $0.withinTolerance) }
        outputBars += (r.reference?.outputs ?? []).map { MarginBar(label: "reference: \($0.name)", fraction: $0.metrics.toleranceFraction, within: $0.withinTolerance) }
        if !outputBars.isEmpty {
            b.append("<h2>Margin to tolerance per output</h2>")
            b.append("<p class=\"meta\">Share of the tolerance the worst element of each output uses, max |converted − expected| / (atol + rtol·|expected|), on a log scale; below the dashed line passes.</p>")
            b.append(marginChart(outputBars, caption: "share of tolerance used per output, log scale"))
        }
        if !r.forward.layers.isEmpty {
            b.append("<h2>Error per layer</h2>")
            if r.forward.layers.allSatisfy({ $0.toleranceFraction != nil || $0.maxAbs == 0 }) {
                b.append("<p class=\"meta\">Share of the tolerance used at each layer's last node output (forward level, source vs converted on Porter's runtime).</p>")
                b.append(marginChart(r.forward.layers.map { MarginBar(label: $0.layer, fraction: $0.toleranceFraction ?? 0, within: $0.withinTolerance) },
                                     caption: "share of tolerance used per layer, log scale"))
            } else {
                b.append(layerChart(r.forward.layers, tolerance: r.tolerance.atol, divergence: r.forward.firstDivergence))
            }
            b.append(table("<tr><th>layer</th><th>at node</th><th class=\"n\">max abs</th><th class=\"n\">mean abs</th><th class=\"n\">of tolerance</th><th>within</th></tr>", r.forward.layers.map { l in
                "<tr class=\"\(l.withinTolerance ? "" : "bad")\"><td>\(h(l.layer))</td><td><code>\(h(l.node))</code></td><td class=\"n\">\(num(l.maxAbs))</td><td class=\"n\">\(num(l.meanAbs))</td><td class=\"n\">\(l.toleranceFraction.map(fractionText) ?? "–")</td><td>\(l.withinTolerance ? "yes" : "no")</td></tr>"
            }, summary: "\(r.forward.layers.count) layers"))
        }

        b.append("<h2>Forward</h2><p>\(h(r.forward.status.rawValue))\(r.forward.reason.map { ": " + h($0) } ?? "") · seed \(r.forward.seed)</p>")
        b.append(inputsTable(r.forward.inputs))
        b.append(outputsTable(r.forward.outputs))

        if let ref = r.reference {
            b.append("<h2>Reference</h2><p>\(h(ref.status.rawValue))\(ref.reason.map { ": " + h($0) } ?? "") · <code>\(h(ref.path))</code></p>")
            b.append(inputsTable(ref.inputs))
            b.append(outputsTable(ref.outputs))
            if !ref.notCompared.isEmpty {
                b.append("<p>Not produced by the converted graph: " + ref.notCompared.map { "<code>\(h($0))</code>" }.joined(separator: ", ") + "</p>")
            }
        }

        b.append("<h2>Weights</h2><p>\(h(w.status.rawValue)): \(w.checked) tensors checked, \(w.bitExact) bit-exact, \(w.castExact) equal to the source re-cast.</p>")
        if !w.mismatches.isEmpty {
            b.append(table("<tr><th>tensor</th><th>from</th><th>transforms</th><th>problem</th><th class=\"n\">max abs</th></tr>", w.mismatches.map { m in
                "<tr class=\"bad\"><td><code>\(h(m.name))</code></td><td>\(h(m.sources.joined(separator: ", ")))</td><td>\(m.transforms.isEmpty ? "–" : h(m.transforms.map(\.description).joined(separator: "; ")))</td><td>\(h(m.problem))</td><td class=\"n\">\(m.maxAbs.map(num) ?? "–")</td></tr>"
            }, summary: "\(w.mismatches.count) mismatched tensors"))
        }
        if !w.missing.isEmpty { b.append("<p>Missing from the converted model: " + w.missing.map { "<code>\(h($0))</code>" }.joined(separator: ", ") + "</p>") }
        if !w.unexpected.isEmpty { b.append("<p>Not from any source tensor: " + w.unexpected.map { "<code>\(h($0))</code>" }.joined(separator: ", ") + "</p>") }

        if let c = r.conversion {
            b.append("<h2>Conversion</h2><p>Mapping: \(h(c.mapping ?? "none")) · dtype: \(h(c.dtype ?? "keep")) · \(c.produced.count) produced, \(c.dropped.count) dropped (\(c.droppedBytes) bytes), \(c.unmapped.count) unmapped (\(c.unmappedBytes) bytes)</p>")
            if !c.dropped.isEmpty {
                if c.dropped.count > foldAbove {
                    b.append("<ul>" + droppedByReason(c.dropped).map { "<li>\($0.1) × \(h($0.0)) (\($0.2) bytes)</li>" }.joined() + "</ul>")
                }
                b.append(table("<tr><th>dropped</th><th class=\"n\">bytes</th><th>reason</th></tr>", c.dropped.map {
                    "<tr><td><code>\(h($0.name))</code></td><td class=\"n\">\($0.byteCount)</td><td>\(h($0.reason))</td></tr>"
                }, summary: "\(c.dropped.count) dropped tensors (\(c.droppedBytes) bytes)"))
            }
            if !c.unmapped.isEmpty {
                b.append(table("<tr><th>unmapped</th><th class=\"n\">bytes</th><th>carried over</th></tr>", c.unmapped.map {
                    "<tr><td><code>\(h($0.name))</code></td><td class=\"n\">\($0.byteCount)</td><td>\($0.carriedOver ? "yes" : "no")</td></tr>"
                }, summary: "\(c.unmapped.count) unmapped tensors (\(c.unmappedBytes) bytes)"))
            }
            if !c.overflows.isEmpty {
                b.append("<ul>" + c.overflows.sorted(by: { $0.key < $1.key }).map { "<li><code>\(h($0.key))</code>: \($0.value) value(s) overflowed to infinity in the cast</li>" }.joined() + "</ul>")
            }
        }
        if !r.notes.isEmpty {
            b.append("<h2>Notes</h2><ul>" + r.notes.map { "<li>\(h($0))</li>" }.joined() + "</ul>")
        }
        b.append("</body></html>")
        return b.joined(separator: "\n") + "\n"
    }

    static let css = """
    body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#1d1d1f;padding:0 16px}\
    h1{font-size:24px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}\
    table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}th,td{border:1px solid #d0d0d0;padding:4px 8px;text-align:left;vertical-align:top}\
    th{background:#f3f3f5}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}code{font:12px Menlo,Consolas,monospace;word-break:break-all}\
    .badge{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-size:16px;vertical-align:middle}\
    .pass{background:#1a7f37}.fail{background:#cf222e}.skip{background:#6e7781}.meta{color:#555}\
    tr.bad td{background:#fff0f0}.failures li{color:#a40e26}.diverge{background:#fff8e1;border:1px solid #e0b000;padding:8px 12px;margin:12px 0}\
    svg{background:#fff;border:1px solid #ddd}svg text{font:11px Helvetica,Arial,sans-serif;fill:#333}
    """

    static func levelRow(_ name: String, _ status: LevelStatus, _ detail: String) -> String {
        let cls = status == .passed ? "pass" : status == .failed ? "fail" : "skip"
        return "<tr><td>\(name)</td><td><span class=\"badge \(cls)\">\(status.rawValue)</span></td><td>\(h(detail))</td></tr>"
    }

    static func inputsTable(_ inputs: [InputDescription]) -> String {
        guard !inputs.isEmpty else { return "" }
        return "<table><tr><th>input</th><th>dtype</th><th>shape</th><th>values</th></tr>"
            + inputs.map { "<tr><td><code>\(h($0.name))</code></td><td>\($0.dtype)</td><td>\(shape($0.shape))</td><td>\(h($0.origin))</td></tr>" }.joined()
            + "</table>"
    }

    static func outputsTable(_ outputs: [OutputComparison]) -> String {
        guard !outputs.isEmpty else { return "" }
        let header = "<tr><th>output</th><th>shape</th><th class=\"n\">max abs</th><th class=\"n\">max rel</th><th class=\"n\">mean abs</th><th class=\"n\">cosine</th><th class=\"n\">argmax</th><th class=\"n\">top-5</th><th class=\"n\">of tolerance</th><th class=\"n\">outside tol.</th><th>within</th></tr>"
        return table(header, outputs.map { o in
            let m = o.metrics
            return "<tr class=\"\(o.withinTolerance ? "" : "bad")\"><td><code>\(h(o.name))</code></td><td>\(shape(o.shape))</td><td class=\"n\">\(num(m.maxAbs))</td><td class=\"n\">\(num(m.maxRel))</td><td class=\"n\">\(num(m.meanAbs))</td><td class=\"n\">\(h(cosineText(m.cosine)))</td><td class=\"n\">\(pct(m.argmaxAgreement))</td><td class=\"n\">\(pct(m.top5Agreement))</td><td class=\"n\">\(m.toleranceFraction.map(fractionText) ?? "–")</td><td class=\"n\">\(m.outsideTolerance + m.nonFiniteMismatches)</td><td>\(o.withinTolerance ? "yes" : "no")</td></tr>"
        }, summary: "\(outputs.count) outputs")
    }

    /// A table; folded in `<details>` (closed, `summary` shown) when it has more than `foldAbove` rows.
    static func table(_ header: String, _ rows: [String], summary: String) -> String {
        let t = "<table>" + header + rows.joined() + "</table>"
        guard rows.count > foldAbove else { return t }
        return "<details><summary>\(h(summary)) — \(rows.count) rows, click to show</summary>\(t)</details>"
    }

    /// One bar of a margin chart: the share of the tolerance used (nil: beyond any finite share).
    struct MarginBar {
        var label: String
        var fraction: Double?
        var within: Bool
    }

    /// Horizontal bars of the share of the tolerance used, log scale, with the tolerance
    /// (100 %) as a dashed line: the margin is the distance from a bar's end to the line.
    static func marginChart(_ bars: [MarginBar], caption: String) -> String {
        let rowH = 22.0, labelW = 300.0, right = 110.0, top = 28.0, bottom = 30.0, width = 1000.0
        let height = top + bottom + rowH * Double(max(bars.count, 1))
        let plotW = width - labelW - right
        let finite = bars.compactMap(\.fraction).filter { $0 > 0 && $0.isFinite }
        // A decade below the smallest share, so its bar has a length.
        var lo = min(finite.min() ?? 1e-3, 1e-1).log10Floor - 1
        lo = max(lo, -12)
        let hi = max(max(finite.max() ?? 1, 1).log10Ceil, 1)
        func x(_ v: Double?) -> Double {
            guard let v else { return labelW + plotW }  // beyond any finite share: the full width
            let l = Swift.min(Swift.max(log10(Swift.max(v, pow(10, lo))), lo), hi)
            return labelW + plotW * (l - lo) / (hi - lo)
        }
        var s: [String] = []
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(h(caption))\">")
        var decade = lo
        while decade <= hi {
            let xx = x(pow(10, decade))
            s.append("<line x1=\"\(f(xx))\" y1=\"\(f(top - 6))\" x2=\"\(f(xx))\" y2=\"\(f(height - bottom))\" stroke=\"#e6e6e6\"/>")
            s.append("<text x=\"\(f(xx))\" y=\"\(f(height - bottom + 14))\" text-anchor=\"middle\">\(fractionText(pow(10, decade)))</text>")
            decade += 1
        }
        for (i, bar) in bars.enumerated() {
            let y = top + rowH * Double(i)
            let end = bar.fraction == 0 ? labelW : x(bar.fraction)
            let color = bar.within ? "#4c8bf5" : "#cf222e"
            let value = bar.fraction.map(fractionText) ?? "beyond"
            s.append("<text x=\"\(f(labelW - 8))\" y=\"\(f(y + 15))\" text-anchor=\"end\">\(h(String(bar.label.prefix(44))))</text>")
            s.append("<rect x=\"\(f(labelW))\" y=\"\(f(y + 4))\" width=\"\(f(Swift.max(end - labelW, 1)))\" height=\"\(f(rowH - 8))\" fill=\"\(color)\" opacity=\"0.85\"><title>\(h(bar.label)): \(value) of tolerance</title></rect>")
            s.append("<text x=\"\(f(Swift.max(end, labelW) + 6))\" y=\"\(f(y + 15))\">\(value)</text>")
        }
        let tx = x(1)
        s.append("<line x1=\"\(f(tx))\" y1=\"\(f(top - 10))\" x2=\"\(f(tx))\" y2=\"\(f(height - bottom))\" stroke=\"#1a7f37\" stroke-dasharray=\"6 4\" stroke-width=\"1.5\"/>")
        s.append("<text x=\"\(f(tx))\" y=\"\(f(top - 14))\" text-anchor=\"middle\" style=\"fill:#1a7f37\">tolerance</text>")
        s.append("</svg>")
        return s.joined(separator: "\n")
    }

    /// Bar chart of max abs error per layer on a log scale, with the atol line.
    static func layerChart(_ layers: [LayerError], tolerance: Double, divergence: Divergence?) -> String {
        let width = 1000.0, height = 340.0
        let left = 64.0, right = 16.0, top = 20.0, bottom = 110.0
        let plotW = width - left - right, plotH = height - top - bottom
        let floor = 1e-10
        // From a decade below the smallest non-zero error (or atol) to the largest; zeros sit on the axis.
        let nonZero = layers.map(\.maxAbs).filter { $0 > 0 && $0.isFinite }
        var lo = min(nonZero.min() ?? tolerance, tolerance).log10Floor - 1
        var hi = max(nonZero.max() ?? tolerance, tolerance).log10Ceil
        lo = max(lo, -10)
        if hi <= lo { hi = lo + 1 }
        func y(_ v: Double) -> Double {
            let l = Swift.min(Swift.max(log10(max(v, floor)), lo), hi)
            return top + plotH * (1 - (l - lo) / (hi - lo))
        }
        var s: [String] = []
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"max abs error per layer, log scale\">")
        // Axis grid per decade.
        var decade = lo
        while decade <= hi {
            let yy = y(pow(10, decade))
            s.append("<line x1=\"\(f(left))\" y1=\"\(f(yy))\" x2=\"\(f(width - right))\" y2=\"\(f(yy))\" stroke=\"#e6e6e6\"/>")
            s.append("<text x=\"\(f(left - 6))\" y=\"\(f(yy + 4))\" text-anchor=\"end\">1e\(Int(decade))</text>")
            decade += 1
        }
        s.append("<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\" stroke=\"#888\"/>")
        s.append("<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(width - right))\" y2=\"\(f(top + plotH))\" stroke=\"#888\"/>")
        let n = max(layers.count, 1)
        let slot = plotW / Double(n)
        let barW = max(2, slot * 0.6)
        var points: [String] = []
        for (i, layer) in layers.enumerated() {
            let cx = left + slot * (Double(i) + 0.5)
            let yy = y(layer.maxAbs)
            let color = layer.withinTolerance ? "#4c8bf5" : "#cf222e"
            s.append("<rect x=\"\(f(cx - barW / 2))\" y=\"\(f(yy))\" width=\"\(f(barW))\" height=\"\(f(top + plotH - yy))\" fill=\"\(color)\" opacity=\"0.85\"><title>\(h(layer.layer)): max abs \(num(layer.maxAbs))</title></rect>")
            points.append("\(f(cx)),\(f(y(max(layer.meanAbs, floor))))")
            s.append("<text transform=\"translate(\(f(cx + 4)),\(f(top + plotH + 8))) rotate(60)\">\(h(layer.layer))</text>")
        }
        s.append("<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"#e08a00\" stroke-width=\"2\"/>")
        let ty = y(tolerance)
        s.append("<line x1=\"\(f(left))\" y1=\"\(f(ty))\" x2=\"\(f(width - right))\" y2=\"\(f(ty))\" stroke=\"#1a7f37\" stroke-dasharray=\"6 4\" stroke-width=\"1.5\"/>")
        s.append("<text x=\"\(f(width - right - 4))\" y=\"\(f(ty - 5))\" text-anchor=\"end\" style=\"fill:#1a7f37\">atol \(num(tolerance))</text>")
        s.append("<rect x=\"\(f(left + 8))\" y=\"\(f(top + 2))\" width=\"10\" height=\"10\" fill=\"#4c8bf5\"/><text x=\"\(f(left + 22))\" y=\"\(f(top + 11))\">max abs (red: beyond tolerance)</text>")
        s.append("<line x1=\"\(f(left + 230))\" y1=\"\(f(top + 7))\" x2=\"\(f(left + 250))\" y2=\"\(f(top + 7))\" stroke=\"#e08a00\" stroke-width=\"2\"/><text x=\"\(f(left + 256))\" y=\"\(f(top + 11))\">mean abs</text>")
        s.append("</svg>")
        return s.joined(separator: "\n")
    }

    static func f(_ x: Double) -> String { String(format: "%.1f", x) }

    /// Escapes text for HTML.
    static func h(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}

extension Double {
    var log10Floor: Double { Foundation.floor(log10(self)) }
    var log10Ceil: Double { Foundation.ceil(log10(self)) }
}
