import Foundation
import PorterCore
import PorterVerifier

/// Keeps the model card of a ported model (e.g. fairseq → FSMT) true to how it was made:
/// the command, and after verification, its outcome. The card's text is the source
/// reader's (`ModelCardWriting`); the pipeline only says when to refresh it.
enum ModelCard {
    static func writer(for model: NeutralModel, in registry: FormatRegistry) -> (any ModelCardWriting)? {
        guard model.assets.contains(where: { $0.kind == "model-card" }) else { return nil }
        return registry.readers.first { $0.info.id == model.sourceFormat } as? any ModelCardWriting
    }

    static func refreshed(_ model: NeutralModel, command: String?, verification: [String], registry: FormatRegistry) -> NeutralModel {
        guard let writer = writer(for: model, in: registry) else { return model }
        return writer.refreshingCard(model, command: command, verification: verification)
    }

    /// One line per level, for the card.
    static func lines(_ report: VerificationReport) -> [String] {
        var out = ["overall: \(report.passed ? "passed" : "FAILED") (Porter \(report.porterVersion))"]
        out.append("weights: \(report.weights.status.rawValue), \(report.weights.bitExact) of \(report.weights.checked) bit-exact")
        var forward = "forward: \(report.forward.status.rawValue)"
        for o in report.forward.outputs { forward += ", \(o.name) max abs \(VerificationReport.short(o.metrics.maxAbs))" }
        out.append(forward)
        if let r = report.reference {
            var line = "reference (\(URL(fileURLWithPath: r.path).lastPathComponent)): \(r.status.rawValue)"
            for o in r.outputs { line += ", \(o.name) max abs \(VerificationReport.short(o.metrics.maxAbs))" }
            out.append(line)
        }
        return out
    }

    /// Rewrites the card inside a written output folder (atomically, by rename).
    static func record(_ report: VerificationReport, for result: ConvertResult, registry: FormatRegistry) throws {
        guard writer(for: result.convertedModel, in: registry) != nil else { return }
        let model = refreshed(result.convertedModel, command: result.command, verification: lines(report), registry: registry)
        guard let card = model.assets.first(where: { $0.kind == "model-card" }) else { return }
        let url = result.output.appendingPathComponent(card.fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        try AtomicOutput.write(to: url, force: true, syncToDisk: result.syncToDisk) { temp in
            let file = try OutputFile(path: temp.path)
            try file.write(card.bytes)
            try file.close()
        }
    }
}
