import Foundation
import PorterCore

/// The `README.md` written beside a ported FSMT model: where it came from, how it was
/// made, what was left behind and how it was verified.
public struct FSMTModelCard: Sendable {
    public var sourceFiles: [String]
    public var langs: [String]
    public var porterVersion: String
    /// The command that made the folder (the pipeline fills it in).
    public var command: String?
    public var dropped: [DroppedTensor]
    public var trainingStateBytes: Int
    public var checkpointFileBytes: Int?
    public var weightBytes: Int
    public var tensorCount: Int
    public var parameterCount: Int
    public var notes: [String]
    /// One line per verification check, when the conversion was verified.
    public var verification: [String]

    public init(port: FSMTPort, porterVersion: String, command: String? = nil, verification: [String] = []) {
        self.init(model: port.model, porterVersion: porterVersion, command: command, verification: verification)
        trainingStateBytes = port.trainingStateBytes
        checkpointFileBytes = port.checkpointFileBytes
    }

    /// A card for a model `FairseqReader` produced (possibly cast or otherwise changed
    /// since). Training state is the dropped entries named by a top-level checkpoint key
    /// (no `.`); the checkpoint size is read from the first source file.
    public init(model: NeutralModel, porterVersion: String = PorterVersion.current, command: String? = nil, verification: [String] = []) {
        sourceFiles = model.sourceFiles
        langs = model.config["langs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        self.porterVersion = porterVersion
        self.command = command
        dropped = model.dropped
        trainingStateBytes = model.dropped.filter { !$0.name.contains(".") }.reduce(0) { $0 + $1.byteCount }
        checkpointFileBytes = model.sourceFiles.first.flatMap { (try? FileManager.default.attributesOfItem(atPath: $0))?[.size] as? Int }
        weightBytes = model.tensors.uniqueByteCount
        tensorCount = model.tensors.count
        parameterCount = model.tensors.parameterCount
        notes = model.notes
        self.verification = verification
    }

    /// `model` with its `README.md` asset replaced by a card that records `command` and
    /// `verification` (what the pipeline calls after converting and verifying).
    public static func refreshing(_ model: NeutralModel, command: String?, verification: [String]) -> NeutralModel {
        var out = model
        let card = FSMTModelCard(model: model, command: command, verification: verification)
        out.assets.removeAll { $0.fileName == "README.md" }
        out.assets.append(Asset(kind: "model-card", fileName: "README.md", bytes: Array(card.markdown().utf8)))
        return out
    }

    public func markdown() -> String {
        let pair = langs.count == 2 ? "\(langs[0])→\(langs[1])" : langs.joined(separator: ", ")
        var s = "---\nlibrary_name: transformers\ntags:\n- translation\n- fsmt\n"
        if langs.count == 2 { s += "language:\n- \(langs[0])\n- \(langs[1])\n" }
        s += "---\n\n# FSMT \(pair), ported from fairseq\n\n"
        s += "This folder holds a fairseq translation transformer in the layout of transformers' "
        s += "`FSMTForConditionalGeneration` and `FSMTTokenizer`, made by Porter \(porterVersion).\n\n"
        s += "## Source\n\n" + sourceFiles.map { "- `\($0)`\n" }.joined()
        if let command { s += "\n## Command\n\n```\n\(command)\n```\n" }
        s += "\n## Contents\n\n"
        s += "- \(tensorCount) tensors, \(parameterCount) parameters, \(weightBytes) bytes of weights (`model.safetensors`)\n"
        s += "- `config.json`, `vocab-src.json`, `vocab-tgt.json` (fairseq's ids; `tok@@` → `tok`, other tokens end in `</w>`), "
        s += "`merges.txt` (fairseq's `bpecodes` without counts), `tokenizer_config.json`\n"
        s += "\n## Left behind\n\n"
        if dropped.isEmpty {
            s += "Nothing.\n"
        } else {
            s += "| entry | bytes | reason |\n|---|---:|---|\n"
            for d in dropped { s += "| `\(d.name)` | \(d.byteCount) | \(d.reason) |\n" }
        }
        s += "\nTraining state dropped: \(trainingStateBytes) bytes."
        if let checkpointFileBytes {
            let saved = checkpointFileBytes - weightBytes
            s += " The checkpoint file was \(checkpointFileBytes) bytes; the weights are \(weightBytes) bytes (\(saved) bytes smaller)."
        }
        s += "\n"
        if !notes.isEmpty { s += "\n## Notes\n\n" + notes.map { "- \($0)\n" }.joined() }
        s += "\n## Verification\n\n"
        if verification.isEmpty {
            s += "Not verified by this conversion; run `porter verify` on the source and this folder.\n"
        } else {
            s += verification.map { "- \($0)\n" }.joined()
        }
        s += "\n## Use\n\n```python\nfrom transformers import FSMTForConditionalGeneration, FSMTTokenizer\n"
        s += "tokenizer = FSMTTokenizer.from_pretrained(\"PATH\")\nmodel = FSMTForConditionalGeneration.from_pretrained(\"PATH\")\n```\n"
        return s
    }
}

extension FairseqReader: ModelCardWriting {
    /// The FSMT card of a fairseq port, recording the command and the verification outcome.
    public func refreshingCard(_ model: NeutralModel, command: String?, verification: [String]) -> NeutralModel {
        FSMTModelCard.refreshing(model, command: command, verification: verification)
    }
}
