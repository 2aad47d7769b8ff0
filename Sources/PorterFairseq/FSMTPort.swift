import Foundation
import PorterCore
import PorterMapping

/// Settings of a fairseq → FSMT port (the reader's `ReadOptions.extra`).
public struct FSMTPortOptions: Sendable, Equatable {
    /// Source and target language; default: the checkpoint's `source_lang`/`target_lang`.
    public var srcLang: String?
    public var tgtLang: String?
    /// `config.json` keys replaced last (`num_beams`, `length_penalty`, ...).
    public var configOverrides: [String: JSONValue]
    /// `tokenizer_config.json`'s `do_lower_case`.
    public var doLowerCase: Bool

    public init(srcLang: String? = nil, tgtLang: String? = nil, configOverrides: [String: JSONValue] = [:], doLowerCase: Bool = false) {
        self.srcLang = srcLang
        self.tgtLang = tgtLang
        self.configOverrides = configOverrides
        self.doLowerCase = doLowerCase
    }

    /// Reads `src-lang`, `tgt-lang`, `do-lower-case` (true/false) and `config.<key>`
    /// (a JSON value, or a bare string) from reader options; other keys are ignored.
    public init(extra: [String: String]) throws {
        self.init(srcLang: extra["src-lang"], tgtLang: extra["tgt-lang"])
        if let v = extra["do-lower-case"] {
            guard let b = Bool(v) else { throw FairseqError.badOption(name: "do-lower-case", value: v, expected: "true or false") }
            doLowerCase = b
        }
        for (k, v) in extra where k.hasPrefix("config.") {
            let key = String(k.dropFirst("config.".count))
            configOverrides[key] = (try? JSONValue.parse(Data(v.utf8))) ?? .string(v)
        }
    }
}

/// A fairseq translation checkpoint ported to transformers' FSMT layout: the mapped
/// weights, `config.json`, the tokenizer files and the accounting of what was left behind.
public struct FSMTPort: Sendable {
    /// FSMT tensor names, config (`config.json`), assets (`vocab-src.json`,
    /// `vocab-tgt.json`, `merges.txt`, `tokenizer_config.json`, `README.md`).
    public var model: NeutralModel
    public var accounting: MappingAccounting
    public var sourceDictionary: FairseqDictionary
    public var targetDictionary: FairseqDictionary
    /// Tensor bytes of optimizer and other training state not carried over.
    public var trainingStateBytes: Int
    /// Size of the checkpoint file, when known.
    public var checkpointFileBytes: Int?

    /// Bytes of weights the FSMT folder stores (shared tensors once).
    public var weightBytes: Int { model.tensors.uniqueByteCount }

    /// Ports a checkpoint with its dictionaries and BPE codes through `mapping`
    /// (`mappings/fairseq-to-fsmt.json`).
    public static func make(checkpoint: FairseqCheckpoint,
                            sourceDictionary srcDictIn: FairseqDictionary, sourceDictionaryFile: String,
                            targetDictionary tgtDictIn: FairseqDictionary, targetDictionaryFile: String,
                            bpeCodes: BPECodes, mapping: Mapping, options: FSMTPortOptions = FSMTPortOptions(),
                            checkpointFileBytes: Int? = nil, porterVersion: String = PorterVersion.current) throws -> FSMTPort {
        let file = checkpoint.file
        let args = try checkpoint.modelArgs()

        // Dictionaries: pad with fairseq's made-up words up to the embedding rows.
        func rows(_ name: String) throws -> Int {
            guard let t = checkpoint.tensor(name) else { throw FairseqError.missingKey(file: file, keyPath: "model.\(name)") }
            guard t.shape.rank == 2 else {
                throw FairseqError.unexpectedValue(file: file, keyPath: "model.\(name)", expected: "a matrix", found: "shape \(t.shape)")
            }
            return t.shape.dims[0]
        }
        var srcDict = srcDictIn
        var tgtDict = tgtDictIn
        let srcRows = try rows("encoder.embed_tokens.weight")
        let tgtRows = try rows("decoder.embed_tokens.weight")
        for (dict, dictFile, rowsCount, tensor) in [(srcDict, sourceDictionaryFile, srcRows, "encoder.embed_tokens.weight"),
                                                     (tgtDict, targetDictionaryFile, tgtRows, "decoder.embed_tokens.weight")] {
            if dict.count > rowsCount {
                throw FairseqError.embeddingSmallerThanDictionary(dictionary: dictFile, symbols: dict.count, embeddingRows: rowsCount, tensor: "model.\(tensor)")
            }
        }
        srcDict.padWithMadeUpWords(to: srcRows)
        tgtDict.padWithMadeUpWords(to: tgtRows)

        // The mapping sees fairseq's names and settings, plus what the file stores.
        var mappingConfig = args.fields
        for key in ["share_all_embeddings", "share_decoder_input_output_embed"] {
            mappingConfig[key] = .bool(args.bool(key, default: false))
        }
        mappingConfig["stored_output_projection"] = .bool(checkpoint.tensor("decoder.output_projection.weight") != nil
                                                           || checkpoint.tensor("decoder.embed_out") != nil)
        var source = NeutralModel(sourceFormat: "fairseq", sourceFiles: [file], config: .object(mappingConfig))
        for (name, tensor) in checkpoint.model {
            try tensor.validate(name: "\(file):model.\(name)")
            try source.tensors.add(TensorEntry(name: name, tensor: tensor, provenance: Provenance(sourceFile: file, sourceName: "model.\(name)")))
        }
        var (mapped, accounting) = try MappingEngine(mapping).apply(to: source)

        let shareAll = args.bool("share_all_embeddings", default: false)
        mapped.tensors = try Self.arrangeForFSMT(mapped.tensors, tiedEmbeddings: shareAll)

        let langs = [options.srcLang ?? args["source_lang"]?.stringValue, options.tgtLang ?? args["target_lang"]?.stringValue]
        let config = try FSMTConfigBuilder.config(args: args, srcVocabSize: srcRows, tgtVocabSize: tgtRows,
                                                  langs: langs.allSatisfy({ $0 != nil }) ? langs.compactMap { $0 } : nil,
                                                  overrides: options.configOverrides, file: file)
        mapped.config = config
        let resolvedLangs = config["langs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let maxLength = config["max_position_embeddings"]?.intValue ?? 1024

        for state in checkpoint.trainingState {
            mapped.dropped.append(DroppedTensor(name: state.key, reason: Self.trainingStateReason(state.key),
                                                byteCount: state.tensorBytes, sourceFile: file))
        }
        if srcDict.paddingSymbolCount > 0 {
            mapped.notes.append("\(sourceDictionaryFile): \(srcDict.paddingSymbolCount) madeupword symbol(s) added to match the encoder embedding's \(srcRows) rows")
        }
        if tgtDict.paddingSymbolCount > 0 {
            mapped.notes.append("\(targetDictionaryFile): \(tgtDict.paddingSymbolCount) madeupword symbol(s) added to match the decoder embedding's \(tgtRows) rows")
        }
        if let s = args["max_source_positions"]?.intValue, let t = args["max_target_positions"]?.intValue, s != t {
            mapped.notes.append("max_source_positions \(s) and max_target_positions \(t) differ; FSMT has one max_position_embeddings (\(s))")
        }
        mapped.sourceFormat = "fairseq"
        mapped.sourceFiles = [file, sourceDictionaryFile, targetDictionaryFile]

        var port = FSMTPort(model: mapped, accounting: accounting, sourceDictionary: srcDict, targetDictionary: tgtDict,
                            trainingStateBytes: checkpoint.trainingStateBytes, checkpointFileBytes: checkpointFileBytes)
        let srcVocab = try FSMTVocabulary(dictionary: srcDict, file: sourceDictionaryFile)
        let tgtVocab = try FSMTVocabulary(dictionary: tgtDict, file: targetDictionaryFile)
        let tokenizer = FSMTConfigBuilder.tokenizerConfig(langs: resolvedLangs, modelMaxLength: maxLength, doLowerCase: options.doLowerCase)
        port.model.assets = [
            Asset(kind: "vocab-src", fileName: "vocab-src.json", bytes: try srcVocab.jsonBytes()),
            Asset(kind: "vocab-tgt", fileName: "vocab-tgt.json", bytes: try tgtVocab.jsonBytes()),
            Asset(kind: "merges", fileName: "merges.txt", bytes: Array(bpeCodes.mergesText().utf8)),
            Asset(kind: "tokenizer-config", fileName: "tokenizer_config.json", bytes: Array(try tokenizer.encoded(pretty: true)) + [0x0A]),
        ]
        let card = FSMTModelCard(port: port, porterVersion: porterVersion)
        port.model.assets.append(Asset(kind: "model-card", fileName: "README.md", bytes: Array(card.markdown().utf8)))
        return port
    }

    /// Why a top-level checkpoint entry is not ported.
    static func trainingStateReason(_ key: String) -> String {
        switch key {
        case "last_optimizer_state": return "optimizer state (moments of the last update); training only"
        case "optimizer_history": return "optimizer and criterion history; training only"
        case "extra_state": return "training progress (epoch, iterator position, meters); training only"
        case "criterion": return "criterion state; training only"
        default: return "checkpoint entry '\(key)' is training state, not model weights"
        }
    }

    /// Orders tensors the way transformers' FSMT loads them.
    ///
    /// With `tie_word_embeddings` FSMT re-ties `encoder.embed_tokens` and
    /// `decoder.output_projection` to `decoder.embed_tokens`, so that one is put first
    /// (the name a writer stores when it writes a shared tensor once). Without it FSMT
    /// ties nothing, so every name must be stored: tensors that share storage (fairseq's
    /// shared decoder input/output embedding) get their own copy on write.
    static func arrangeForFSMT(_ tensors: TensorStore, tiedEmbeddings: Bool) throws -> TensorStore {
        var out = TensorStore()
        if tiedEmbeddings {
            let first = "model.decoder.embed_tokens.weight"
            if let e = tensors[first] { try out.add(e) }
            for e in tensors where e.name != first { try out.add(e) }
            return out
        }
        let aliases = tensors.aliases()
        for var e in tensors {
            if aliases[e.name] != nil {
                let original = e.tensor
                let storage = TensorStorage(byteCount: original.byteCount, backing: .deferred({ try original.contiguousBytes() }),
                                            label: "\(e.name) (own copy of \(aliases[e.name] ?? ""))")
                e.tensor = TensorRef(dtype: original.dtype, shape: original.shape, storage: storage)
                e.provenance.transforms.append(.ownCopy(reason: "FSMT ties no weights when tie_word_embeddings is false"))
            }
            try out.add(e)
        }
        return out
    }
}
