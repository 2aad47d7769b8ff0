import Foundation
import PorterArchitectures
import PorterCore

/// The model settings of a fairseq checkpoint, flattened: `args` (an
/// `argparse.Namespace`, older checkpoints) or `cfg.model` (newer ones), plus the
/// language pair from `cfg.task`.
public struct FairseqModelArgs: Sendable, Equatable {
    /// Field name → value, as fairseq stored them.
    public var fields: [String: JSONValue]
    /// Where the fields came from (`args` or `cfg.model`), for messages.
    public var origin: String
    /// Beam-search settings (`beam`, `lenpen`, `max_len_a`, `max_len_b`): from `args`
    /// itself in older checkpoints, from `cfg.generation` in newer ones; unset ones absent.
    public var generation: [String: JSONValue]

    public init(fields: [String: JSONValue], origin: String, generation: [String: JSONValue]? = nil) {
        self.fields = fields
        self.origin = origin
        self.generation = (generation ?? fields).filter { Self.generationKeys.contains($0.key) && !$0.value.isNull }
    }

    static let generationKeys: Set<String> = ["beam", "lenpen", "max_len_a", "max_len_b"]

    /// Picks `args` when it is set, else `cfg.model` (with `cfg.task`'s languages added
    /// when the model section lacks them). `file` names the checkpoint in errors.
    public init(checkpoint top: [String: JSONValue], file: String) throws {
        if let args = top["args"], let o = args.objectValue {
            self.init(fields: o, origin: "args")
            return
        }
        guard let cfg = top["cfg"] else { throw FairseqError.missingKey(file: file, keyPath: "args' or 'cfg") }
        guard let cfgObject = cfg.objectValue else {
            throw FairseqError.unexpectedValue(file: file, keyPath: "cfg", expected: "a dict or DictConfig", found: Self.describe(cfg))
        }
        guard let model = cfgObject["model"] else { throw FairseqError.missingKey(file: file, keyPath: "cfg.model") }
        guard var fields = model.objectValue else {
            throw FairseqError.unexpectedValue(file: file, keyPath: "cfg.model", expected: "a Namespace or dict", found: Self.describe(model))
        }
        if let task = cfgObject["task"]?.objectValue {
            for key in ["source_lang", "target_lang"] where fields[key] == nil || fields[key]?.isNull == true {
                if let v = task[key] { fields[key] = v }
            }
        }
        self.init(fields: fields, origin: "cfg.model", generation: cfgObject["generation"]?.objectValue ?? [:])
    }

    public subscript(_ key: String) -> JSONValue? { fields[key] }

    func bool(_ key: String, default d: Bool) -> Bool {
        guard let v = fields[key] else { return d }
        if let b = v.boolValue { return b }
        if let i = v.intValue { return i != 0 }
        return d
    }

    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .null: return "None"
        case .bool: return "a bool"
        case .int: return "an int"
        case .double: return "a float"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "a dict"
        }
    }
}

/// The FSMT config type and its defaults live in the architecture descriptor.
typealias FSMTDefaults = FSMTDescriptor.Config.Defaults

/// Builds transformers' FSMT `config.json` from fairseq's model settings (the translation
/// of fairseq's argument names is fairseq-format knowledge, so it stays here).
public enum FSMTConfigBuilder {
    /// Generation defaults: fairseq's `generate.py` uses a beam of 5, stops a beam search
    /// once `beam` hypotheses are finished (transformers' `early_stopping=True`) and
    /// normalises scores by length to the power 1. The checkpoint's own settings replace
    /// them (`generationSettings`).
    public static let generationDefaults: [String: JSONValue] = [
        "num_beams": 5, "early_stopping": true, "length_penalty": 1.0, "max_length": 200,
    ]

    /// The checkpoint's beam-search settings as FSMT config keys: `beam` → `num_beams`,
    /// `lenpen` → `length_penalty`, and `max_len_b` → `max_length` when `max_len_a` is 0
    /// (fairseq's limit is `max_len_a · source length + max_len_b`; FSMT has only a fixed one).
    static func generationSettings(_ args: FairseqModelArgs, file: String) throws -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        let origin = args.origin == "args" ? "args" : "cfg.generation"
        func number(_ key: String) throws -> Double? {
            guard let v = args.generation[key] else { return nil }
            guard let d = v.doubleValue else {
                throw FairseqError.unexpectedValue(file: file, keyPath: "\(origin).\(key)", expected: "a number", found: FairseqModelArgs.describe(v))
            }
            return d
        }
        if let beam = try number("beam") {
            guard beam >= 1, let b = Int64(exactly: beam) else {
                throw FairseqError.unexpectedValue(file: file, keyPath: "\(origin).beam", expected: "a whole number ≥ 1", found: String(beam))
            }
            out["num_beams"] = .int(b)
        }
        if let lenpen = try number("lenpen") { out["length_penalty"] = .double(lenpen) }
        if let b = try number("max_len_b"), (try number("max_len_a") ?? 0) == 0, let length = Int64(exactly: b), length > 0 {
            out["max_length"] = .int(length)
        }
        return out
    }

    /// The FSMT config for a fairseq transformer.
    ///
    /// - Parameters:
    ///   - args: the checkpoint's model settings.
    ///   - srcVocabSize, tgtVocabSize: rows of the encoder and decoder embeddings.
    ///   - langs: source and target language; defaults to `source_lang`/`target_lang` in `args`.
    ///   - overrides: keys replaced last (user flags).
    ///   - file: names the checkpoint in errors.
    public static func config(args: FairseqModelArgs, srcVocabSize: Int, tgtVocabSize: Int, langs: [String]? = nil,
                              overrides: [String: JSONValue] = [:], file: String) throws -> JSONValue {
        func int(_ key: String, fallback: String? = nil, default d: Int? = nil) throws -> Int {
            for k in [key, fallback].compactMap({ $0 }) {
                if let v = args[k], !v.isNull {
                    guard let i = v.intValue else {
                        throw FairseqError.unexpectedValue(file: file, keyPath: "\(args.origin).\(k)", expected: "an integer", found: FairseqModelArgs.describe(v))
                    }
                    return i
                }
            }
            if let d { return d }
            throw FairseqError.missingKey(file: file, keyPath: "\(args.origin).\(key)")
        }
        func double(_ key: String, fallback: String? = nil, default d: Double) throws -> Double {
            for k in [key, fallback].compactMap({ $0 }) {
                if let v = args[k], !v.isNull {
                    guard let x = v.doubleValue else {
                        throw FairseqError.unexpectedValue(file: file, keyPath: "\(args.origin).\(k)", expected: "a number", found: FairseqModelArgs.describe(v))
                    }
                    return x
                }
            }
            return d
        }
        func unsupported(_ key: String, _ reason: String) throws {
            if args.bool(key, default: false) {
                throw FairseqError.unsupportedConfig(file: file, keyPath: "\(args.origin).\(key)", value: "True", reason: reason)
            }
        }
        try unsupported("encoder_normalize_before", "FSMT applies layer norm after each sublayer (post-norm); this model normalises before")
        try unsupported("decoder_normalize_before", "FSMT applies layer norm after each sublayer (post-norm); this model normalises before")
        try unsupported("encoder_learned_pos", "FSMT uses sinusoidal positions; this model learned them")
        try unsupported("decoder_learned_pos", "FSMT uses sinusoidal positions; this model learned them")
        try unsupported("layernorm_embedding", "FSMT has no layer norm on embeddings")
        try unsupported("no_token_positional_embeddings", "FSMT always adds positional embeddings")
        try unsupported("cross_self_attention", "FSMT has separate self- and cross-attention")

        let encoderDim = try int("encoder_embed_dim", default: FSMTDefaults.dModel)
        let decoderDim = try int("decoder_embed_dim", default: encoderDim)
        guard encoderDim == decoderDim else {
            throw FairseqError.unsupportedConfig(file: file, keyPath: "\(args.origin).decoder_embed_dim", value: "\(decoderDim)",
                                                 reason: "FSMT has one d_model; encoder_embed_dim is \(encoderDim)")
        }
        if let out = args["decoder_output_dim"]?.intValue, out != decoderDim {
            throw FairseqError.unsupportedConfig(file: file, keyPath: "\(args.origin).decoder_output_dim", value: "\(out)",
                                                 reason: "FSMT projects from d_model (\(decoderDim)) to the vocabulary")
        }
        let activation = args["activation_fn"]?.stringValue ?? FSMTDefaults.activation
        guard ["relu", "gelu"].contains(activation) else {
            throw FairseqError.unsupportedConfig(file: file, keyPath: "\(args.origin).activation_fn", value: activation,
                                                 reason: "Porter maps relu and gelu to FSMT")
        }
        let resolvedLangs = langs ?? [args["source_lang"]?.stringValue, args["target_lang"]?.stringValue].compactMap { $0 }
        guard resolvedLangs.count == 2 else {
            throw FairseqError.missingKey(file: file, keyPath: "\(args.origin).source_lang/target_lang (or pass --src-lang and --tgt-lang)")
        }
        let shareAll = args.bool("share_all_embeddings", default: false)
        let maxSource = try int("max_source_positions", default: FSMTDefaults.maxPositions)

        var c: [String: JSONValue] = [
            "architectures": ["FSMTForConditionalGeneration"],
            "model_type": "fsmt",
            "langs": .array(resolvedLangs.map { .string($0) }),
            "src_vocab_size": .int(Int64(srcVocabSize)),
            "tgt_vocab_size": .int(Int64(tgtVocabSize)),
            "d_model": .int(Int64(decoderDim)),
            "encoder_layers": .int(Int64(try int("encoder_layers", default: FSMTDefaults.layers))),
            "decoder_layers": .int(Int64(try int("decoder_layers", default: FSMTDefaults.layers))),
            "encoder_attention_heads": .int(Int64(try int("encoder_attention_heads", default: FSMTDefaults.heads))),
            "decoder_attention_heads": .int(Int64(try int("decoder_attention_heads", default: FSMTDefaults.heads))),
            "encoder_ffn_dim": .int(Int64(try int("encoder_ffn_embed_dim", default: FSMTDefaults.ffnDim))),
            "decoder_ffn_dim": .int(Int64(try int("decoder_ffn_embed_dim", default: FSMTDefaults.ffnDim))),
            "encoder_layerdrop": .double(try double("encoder_layerdrop", default: 0)),
            "decoder_layerdrop": .double(try double("decoder_layerdrop", default: 0)),
            "activation_function": .string(activation),
            "dropout": .double(try double("dropout", default: 0.1)),
            "attention_dropout": .double(try double("attention_dropout", default: 0)),
            "activation_dropout": .double(try double("activation_dropout", fallback: "relu_dropout", default: 0)),
            "max_position_embeddings": .int(Int64(maxSource)),
            "scale_embedding": .bool(!args.bool("no_scale_embedding", default: false)),
            "tie_word_embeddings": .bool(shareAll),
            "init_std": .double(FSMTDefaults.initStd),
            "is_encoder_decoder": true,
            "use_cache": true,
            "bos_token_id": .int(Int64(FairseqDictionary.bosIndex)),
            "pad_token_id": .int(Int64(FairseqDictionary.padIndex)),
            "eos_token_id": .int(Int64(FairseqDictionary.eosIndex)),
            "decoder_start_token_id": .int(Int64(FairseqDictionary.eosIndex)),
            "forced_eos_token_id": .int(Int64(FairseqDictionary.eosIndex)),
        ]
        for (k, v) in generationDefaults { c[k] = v }
        for (k, v) in try generationSettings(args, file: file) { c[k] = v }
        for (k, v) in overrides { c[k] = v }
        return .object(c)
    }

    /// transformers' `tokenizer_config.json` for FSMT.
    public static func tokenizerConfig(langs: [String], modelMaxLength: Int, doLowerCase: Bool = false) -> JSONValue {
        [
            "tokenizer_class": "FSMTTokenizer",
            "langs": .array(langs.map { .string($0) }),
            "model_max_length": .int(Int64(modelMaxLength)),
            "do_lower_case": .bool(doLowerCase),
        ]
    }
}
