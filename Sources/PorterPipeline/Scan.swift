import Foundation
import PorterCore

extension Pipeline {
    /// Inventories the pickles of a torch zip, legacy torch file or raw pickle without
    /// unpickling anything, and classifies them (safe / review / dangerous): the reader that
    /// holds pickles does it (`PickleScanning`).
    ///
    /// A file whose reader holds no pickles (`HazardChecking`: HDF5, safetensors, TensorFlow)
    /// gets that format's own checks instead: each hazard is dangerous, none is safe.
    ///
    /// A folder format (`ScanTargeting`: a Hugging Face folder) is the sum of its files: each
    /// weights file (and shard) is scanned and the findings are reported together, named by file.
    public func scan(_ url: URL) throws -> ScanReport {
        if let reader = try? registry.reader(for: url), let folder = reader as? any ScanTargeting {
            let targets = try folder.scanTargets(of: url)
            var report = ScanReport(path: url.path, format: reader.info.id)
            for target in targets {
                let part = try scan(target)
                let file = target.lastPathComponent
                for f in part.findings {
                    report.add(ScanFinding(verdict: f.verdict, reason: f.reason, pickle: f.pickle.isEmpty ? file : "\(file): \(f.pickle)", offset: f.offset))
                }
                report.globals += part.globals.map { g in var g = g; g.pickle = "\(file): \(g.pickle)"; return g }
                report.pickles += part.pickles.map { "\(file): \($0)" }
                for (op, n) in part.opcodeCounts { report.opcodeCounts[op, default: 0] += n }
                report.notes += part.notes.map { "\(file): \($0)" }
            }
            report.notes.insert(targets.isEmpty ? "no weights file to scan"
                                : "scanned \(targets.count) file(s): \(targets.map(\.lastPathComponent).joined(separator: ", "))", at: 0)
            if targets.isEmpty {
                report.add(ScanFinding(verdict: .review, reason: "the folder holds no weights file Porter knows", pickle: "", offset: 0))
            }
            return report
        }
        if let reader = try? registry.reader(for: url), let checker = reader as? any HazardChecking {
            var report = ScanReport(path: url.path, format: reader.info.id)
            for hazard in try checker.hazards(of: url) {
                report.add(ScanFinding(verdict: .dangerous, reason: hazard, pickle: "", offset: 0))
            }
            for item in try (reader as? any ReviewChecking)?.reviews(of: url) ?? [] {
                report.add(ScanFinding(verdict: .review, reason: item, pickle: "", offset: 0))
            }
            let refused = report.findings.contains { $0.verdict == .dangerous }
            report.notes.append(report.findings.isEmpty
                ? "safe — holds no pickle; the \(reader.info.name) checks found nothing (docs/security.md)"
                : refused ? "holds no pickle; the hazards above make Porter refuse the file"
                : "holds no pickle; the items above are for review, Porter reads the file (docs/security.md)")
            return report
        }
        let detected = try? registry.reader(for: url)
        var isDir: ObjCBool = false
        if !(detected is any PickleScanning), FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            if let reader = detected { throw PipelineError.folderNotScanned(path: url.path, format: reader.info.name) }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            throw PipelineError.notAModelFolder(path: url.path, entries: Array(names.prefix(5)), total: names.count)
        }
        // A reader that holds pickles scans them; a file no such reader claims (a raw pickle
        // under any name, a fairseq or numpy file) is scanned as torch.load would open it.
        guard let scanner = (detected as? any PickleScanning) ?? registry.readers.lazy.compactMap({ $0 as? any PickleScanning }).first else {
            throw PipelineError.noScanner(path: url.path)
        }
        return try scanner.scanPickles(of: url)
    }
}

extension ScanReport {
    /// Machine-readable form (`--json`).
    public func json() throws -> String {
        String(decoding: try JSONValue.encoder(pretty: true).encode(self), as: UTF8.self) + "\n"
    }

    /// Human-readable form of `porter scan`.
    public func text() -> String {
        var out = "\(path)\n  format:  \(format)\n  verdict: \(verdict.rawValue)\n"
        if !pickles.isEmpty { out += "  pickles: \(pickles.joined(separator: ", "))\n" }
        if !findings.isEmpty {
            out += "\nfindings\n"
            for f in findings { out += "  [\(f.verdict.rawValue)] \(f.reason) (\(f.pickle.isEmpty ? "" : f.pickle + ", ")byte \(f.offset))\n" }
        }
        if !globals.isEmpty {
            // TorchScript class globals (`__torch__.…`, one per scripted module class) fold into
            // one summary row; `--json` keeps each.
            let script = globals.filter { $0.classification == "torchscript" }
            var rows = globals.filter { $0.classification != "torchscript" }.map {
                [$0.global, $0.classification, String($0.count), "\($0.pickle) byte \($0.firstOffset)"]
            }
            if let first = script.first {
                let classes = Set(script.map(\.global)).count
                rows.append(["__torch__.… (\(classes) TorchScript class\(classes == 1 ? "" : "es"))", "torchscript",
                             String(script.reduce(0) { $0 + $1.count }), "\(first.pickle) byte \(first.firstOffset)"])
            }
            out += "\nglobals\n"
            out += InspectReport.table(header: ["global", "class", "count", "first at"], rows: rows)
        }
        if !opcodeCounts.isEmpty {
            out += "\nopcodes\n  " + opcodeCounts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ") + "\n"
        }
        if !notes.isEmpty { out += "\nnotes\n" + notes.map { "  \($0)\n" }.joined() }
        return out
    }
}
