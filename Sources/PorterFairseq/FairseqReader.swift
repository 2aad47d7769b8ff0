import Foundation
import PorterCore
import PorterMapping

/// The files of a fairseq translation model: checkpoint, source and target dictionaries, BPE codes.
public struct FairseqFolder: Sendable, Equatable {
    public var checkpoint: URL
    public var sourceDictionary: URL
    public var targetDictionary: URL
    public var bpeCodes: URL?

    public init(checkpoint: URL, sourceDictionary: URL, targetDictionary: URL, bpeCodes: URL?) {
        self.checkpoint = checkpoint
        self.sourceDictionary = sourceDictionary
        self.targetDictionary = targetDictionary
        self.bpeCodes = bpeCodes
    }

    /// Checkpoint candidates in a folder: `*.pt` files.
    public static func checkpoints(in folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".pt") }.sorted()
    }

    /// The checkpoint `url` names: the file itself, or in a folder the one `--checkpoint`
    /// names, or the folder's only `*.pt`.
    public static func checkpoint(for url: URL, named: String?) throws -> URL {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw CoreError.cannotOpen(path: url.path, reason: "no such file or folder")
        }
        if !isDir.boolValue { return url }
        if let named {
            let candidate = named.hasPrefix("/") ? URL(fileURLWithPath: named) : url.appendingPathComponent(named)
            guard FileManager.default.fileExists(atPath: candidate.path) else {
                throw FairseqError.missingFile(folder: url.path, wanted: named, found: checkpoints(in: url))
            }
            return candidate
        }
        let found = checkpoints(in: url)
        guard !found.isEmpty else {
            throw FairseqError.missingFile(folder: url.path, wanted: "checkpoint (*.pt)", found: listing(url))
        }
        guard found.count == 1 else {
            throw FairseqError.ambiguous(folder: url.path, what: "checkpoints", candidates: found, option: "--checkpoint NAME")
        }
        return url.appendingPathComponent(found[0])
    }

    /// Finds `dict.<src>.txt`, `dict.<tgt>.txt` (or one shared `dict.txt`) and `bpecodes`
    /// beside the checkpoint.
    public static func locate(folder: URL, checkpoint: URL, srcLang: String, tgtLang: String, bpeCodes: String? = nil) throws -> FairseqFolder {
        let names = Set(listing(folder))
        func dict(_ lang: String) throws -> URL {
            for n in ["dict.\(lang).txt", "dict.txt"] where names.contains(n) { return folder.appendingPathComponent(n) }
            throw FairseqError.missingFile(folder: folder.path, wanted: "dict.\(lang).txt", found: names.filter { $0.hasPrefix("dict") }.sorted())
        }
        var codes: URL?
        if let bpeCodes {
            codes = bpeCodes.hasPrefix("/") ? URL(fileURLWithPath: bpeCodes) : folder.appendingPathComponent(bpeCodes)
        } else if let n = ["bpecodes", "codes", "bpecodes.txt"].first(where: names.contains) {
            codes = folder.appendingPathComponent(n)
        }
        return FairseqFolder(checkpoint: checkpoint, sourceDictionary: try dict(srcLang), targetDictionary: try dict(tgtLang), bpeCodes: codes)
    }

    static func listing(_ folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
    }
}

/// Reads a fairseq translation model (folder of `*.pt` + `dict.*.txt` + `bpecodes`, or a
/// `.pt` with those beside it) as transformers' FSMT: tensors under FSMT names,
/// `config` = FSMT `config.json`, assets = `vocab-src.json`, `vocab-tgt.json`,
/// `merges.txt`, `tokenizer_config.json`, `README.md`. A Hugging Face folder writer
/// then writes `config.json`, the assets and `model.safetensors`.
///
/// Options (`ReadOptions.extra`): `checkpoint` (file in the folder), `src-lang`,
/// `tgt-lang`, `bpecodes` (path), `do-lower-case`, `config.<key>` (override a
/// `config.json` key with a JSON value), `layout` = `fsmt` (default) or `fairseq`
/// (the checkpoint as stored: fairseq names, `args`/`cfg` as config, for `porter inspect`).
public struct FairseqReader: ModelReader {
    /// Folders searched for `fairseq-to-fsmt.json` when no mapping is given.
    public var mappingSearchPaths: [URL]
    public var porterVersion: String
    public static let mappingName = "fairseq-to-fsmt"

    public init(mappingSearchPaths: [URL] = FairseqReader.defaultMappingSearchPaths, porterVersion: String = PorterVersion.current) {
        self.mappingSearchPaths = mappingSearchPaths
        self.porterVersion = porterVersion
    }

    /// Where shipped mappings are looked up (see `MappingLocations`).
    public static var defaultMappingSearchPaths: [URL] { MappingLocations.searchPaths }

    public var info: FormatInfo {
        FormatInfo(id: "fairseq", name: "fairseq translation model", extensions: ["folder with *.pt + dict.*.txt + bpecodes"],
                   summary: "fairseq transformer checkpoint with its dictionaries and BPE codes, read as transformers FSMT")
    }

    /// The reader's settings (`--read-option KEY=VALUE`; `--checkpoint`, `--src-lang` and
    /// `--tgt-lang` are the CLI's aliases for the first three).
    public var options: [FormatOption] {
        [
            FormatOption("checkpoint", .text("file"), flag: true, help: "the checkpoint in the folder (needed when it holds several *.pt)"),
            FormatOption("src-lang", .text("lang"), flag: true, help: "source language, picks dict.<lang>.txt (default: the checkpoint's source_lang)"),
            FormatOption("tgt-lang", .text("lang"), flag: true, help: "target language (default: the checkpoint's target_lang)"),
            FormatOption("bpecodes", .text("path"), help: "the fastBPE codes file (default: bpecodes in the folder)"),
            FormatOption("do-lower-case", .bool, default: "false", help: "tokenizer_config.json's do_lower_case"),
            FormatOption("config.", .json, help: "replace a key of the FSMT config.json (num_beams, length_penalty, ...)"),
            FormatOption("layout", .choice(["fsmt", "fairseq"]), default: "fsmt",
                         help: "fsmt: as transformers FSMT; fairseq: the checkpoint as stored (for inspect)"),
            FormatOption("mapping", .text("name|file"), default: Self.mappingName, help: "the mapping from fairseq to FSMT names"),
        ]
    }

    /// A folder holding `*.pt` and `dict.*.txt` is certainly fairseq; a `.pt` file with
    /// dictionaries beside it is likely (a plain PyTorch reader claims it too; pass `--from fairseq`).
    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        if input.isDirectory {
            let hasCheckpoint = input.entries.contains { $0.hasSuffix(".pt") }
            let hasDict = input.entries.contains { $0.hasPrefix("dict.") && $0.hasSuffix(".txt") }
            return hasCheckpoint && hasDict ? .certain : .no
        }
        guard input.url.pathExtension == "pt" else { return .no }
        return input.siblings.contains { $0.hasPrefix("dict.") && $0.hasSuffix(".txt") } ? .likely : .no
    }

    public func read(_ url: URL, options: ReadOptions) throws -> NeutralModel {
        let layout = options.extra["layout"] ?? "fsmt"
        switch layout {
        case "fsmt": return try port(url, options: options).model
        case "fairseq": return try raw(url, options: options)
        default: throw FairseqError.badOption(name: "layout", value: layout, expected: "fsmt or fairseq")
        }
    }

    /// The full port, with dictionaries and accounting (for callers that want more than the model).
    public func port(_ url: URL, options: ReadOptions = ReadOptions()) throws -> FSMTPort {
        let checkpointURL = try FairseqFolder.checkpoint(for: url, named: options.extra["checkpoint"])
        let folder = checkpointURL.deletingLastPathComponent()
        options.progress.begin("reading \(checkpointURL.lastPathComponent)", totalUnits: 1)
        let checkpoint = try FairseqCheckpoint.load(checkpointURL)
        options.progress.end()
        let portOptions = try FSMTPortOptions(extra: options.extra)
        let args = try checkpoint.modelArgs()
        guard let src = portOptions.srcLang ?? args["source_lang"]?.stringValue,
              let tgt = portOptions.tgtLang ?? args["target_lang"]?.stringValue else {
            throw FairseqError.missingKey(file: checkpoint.file, keyPath: "\(args.origin).source_lang/target_lang (or pass --src-lang and --tgt-lang)")
        }
        let files = try FairseqFolder.locate(folder: folder, checkpoint: checkpointURL, srcLang: src, tgtLang: tgt, bpeCodes: options.extra["bpecodes"])
        guard let codesURL = files.bpeCodes else {
            throw FairseqError.missingFile(folder: folder.path, wanted: "bpecodes (fastBPE codes; FSMT's merges.txt is made from it)",
                                           found: FairseqFolder.listing(folder))
        }
        let mapping = try Mapping.resolve(options.extra["mapping"] ?? Self.mappingName, searchPaths: mappingSearchPaths)
        let size = (try? FileManager.default.attributesOfItem(atPath: checkpointURL.path)[.size] as? Int) ?? nil
        var portOptionsResolved = portOptions
        portOptionsResolved.srcLang = src
        portOptionsResolved.tgtLang = tgt
        return try FSMTPort.make(checkpoint: checkpoint,
                                 sourceDictionary: try FairseqDictionary(contentsOf: files.sourceDictionary), sourceDictionaryFile: files.sourceDictionary.path,
                                 targetDictionary: try FairseqDictionary(contentsOf: files.targetDictionary), targetDictionaryFile: files.targetDictionary.path,
                                 bpeCodes: try BPECodes(contentsOf: codesURL), mapping: mapping, options: portOptionsResolved,
                                 checkpointFileBytes: size, porterVersion: porterVersion)
    }

    /// The checkpoint as stored, for inspection.
    func raw(_ url: URL, options: ReadOptions) throws -> NeutralModel {
        let checkpointURL = try FairseqFolder.checkpoint(for: url, named: options.extra["checkpoint"])
        let checkpoint = try FairseqCheckpoint.load(checkpointURL)
        var model = NeutralModel(sourceFormat: "fairseq", sourceFiles: [checkpointURL.path], config: .object(checkpoint.settings))
        for (name, tensor) in checkpoint.model {
            try model.tensors.add(TensorEntry(name: name, tensor: tensor, provenance: Provenance(sourceFile: checkpointURL.path, sourceName: "model.\(name)")))
        }
        for s in checkpoint.trainingState {
            model.dropped.append(DroppedTensor(name: s.key, reason: FSMTPort.trainingStateReason(s.key), byteCount: s.tensorBytes, sourceFile: checkpointURL.path))
        }
        let folder = checkpointURL.deletingLastPathComponent()
        for name in FairseqFolder.listing(folder) where (name.hasPrefix("dict.") && name.hasSuffix(".txt")) || name == "bpecodes" {
            if let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path), data.count <= FairseqDictionary.maxFileBytes {
                model.assets.append(Asset(kind: name == "bpecodes" ? "bpecodes" : "fairseq-dictionary", fileName: name, bytes: Array(data)))
            }
        }
        return model
    }
}
