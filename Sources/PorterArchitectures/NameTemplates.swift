import Foundation
import PorterCore

/// Naming schemes a descriptor's tensor templates spell names in.
public enum NameScheme: String, Sendable, CaseIterable {
    /// transformers PyTorch state dicts (`bert.encoder.layer.0.attention.self.query.weight`).
    case hfPT = "hf-pt"
    /// transformers TF weights as Porter reads a `tf_model.h5`
    /// (`bert/tf_bert_model/bert/encoder/layer_._0/attention/self/query/kernel:0`).
    case tfH5 = "tf-h5"
    /// llama.cpp GGUF tensor names (`blk.0.attn_qkv.weight`).
    case gguf
}

/// Why a mapping template cannot be expanded.
public enum NameTemplateError: Error, Sendable, Equatable, LocalizedError {
    case unknownFamily(String, known: [String])
    case unknownScheme(String)
    case unsupported(family: String, from: String, to: String)

    public var errorDescription: String? {
        switch self {
        case let .unknownFamily(f, known): return "no architecture descriptor '\(f)' (known: \(known.joined(separator: ", ")))"
        case let .unknownScheme(s): return "unknown naming scheme '\(s)' (known: \(NameScheme.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .unsupported(f, from, to): return "the \(f) descriptor has no \(from) → \(to) names"
        }
    }
}

extension ArchitectureDescriptor {
    /// Mapping rules (in `mappings/*.json` rule syntax) that rename this family's tensors
    /// from one scheme to another, expanded from `tensorTemplates`: `{bid}` becomes a
    /// captured block number. For each model type, names under the base prefix map
    /// unconditionally and unprefixed names (a base-model state dict) when
    /// `config.model_type` is that type.
    public func mappingRules(from: NameScheme, to: NameScheme) throws -> [JSONValue] {
        var rules: [JSONValue] = []
        var unprefixed: [JSONValue] = []
        func pattern(_ template: String) -> String {
            template.components(separatedBy: "{bid}").map { NSRegularExpression.escapedPattern(for: $0) }.joined(separator: "(\\d+)")
        }
        func replacement(_ template: String) -> String { template.replacingOccurrences(of: "{bid}", with: "$1") }
        func rule(_ match: String, _ rename: String, transpose: Bool, when: String?) -> JSONValue {
            var o: [String: JSONValue] = ["match": .string("^" + match + "$"), "rename": .string(rename)]
            if transpose { o["transpose"] = [1, 0] }
            if let when { o["when"] = ["config.model_type": .string(when)] }
            return .object(o)
        }
        for type in modelTypes {
            let p = basePrefix(modelType: type)
            switch (from, to) {
            case (.hfPT, .tfH5), (.tfH5, .hfPT):
                guard let scope = tfModelScope(modelType: type) else { throw NameTemplateError.unsupported(family: family, from: from.rawValue, to: to.rawValue) }
                for t in tensorTemplates where !t.head {
                    guard let tf = t.tf else { continue }
                    if from == .hfPT {
                        let target = "\(p)/\(scope)/\(p)/" + replacement(tf)
                        rules.append(rule(NSRegularExpression.escapedPattern(for: p + ".") + pattern(t.hf), target, transpose: t.tfTranspose, when: nil))
                        unprefixed.append(rule(pattern(t.hf), target, transpose: t.tfTranspose, when: type))
                    } else {
                        // The h5 layer group and model scope come first; transformers' loader ignores the scope.
                        rules.append(rule("[^/]+/[^/]+/" + NSRegularExpression.escapedPattern(for: p + "/") + pattern(tf),
                                          "\(p)." + replacement(t.hf), transpose: t.tfTranspose, when: nil))
                    }
                }
            case (.hfPT, .gguf):
                for t in tensorTemplates {
                    guard let g = t.gguf else { continue }
                    let target = replacement(g)
                    if t.head {
                        rules.append(rule(pattern(t.hf), target, transpose: false, when: nil))
                    } else {
                        rules.append(rule(NSRegularExpression.escapedPattern(for: p + ".") + pattern(t.hf), target, transpose: false, when: nil))
                        unprefixed.append(rule(pattern(t.hf), target, transpose: false, when: type))
                    }
                }
            default:
                throw NameTemplateError.unsupported(family: family, from: from.rawValue, to: to.rawValue)
            }
        }
        if rules.isEmpty { throw NameTemplateError.unsupported(family: family, from: from.rawValue, to: to.rawValue) }
        return rules + unprefixed
    }
}

extension ArchitectureRegistry {
    /// The rules of a mapping template `{"template": family, "from": scheme, "to": scheme}`.
    public func mappingRules(family: String, from: String, to: String) throws -> [JSONValue] {
        guard let d = descriptor(family: family) else { throw NameTemplateError.unknownFamily(family, known: descriptors.map(\.family)) }
        guard let f = NameScheme(rawValue: from) else { throw NameTemplateError.unknownScheme(from) }
        guard let t = NameScheme(rawValue: to) else { throw NameTemplateError.unknownScheme(to) }
        return try d.mappingRules(from: f, to: t)
    }
}

/// The README.md of a model `porter tiny` made.
public enum TinyModelCard {
    public static func text(family: String, facts: ModelCardFacts, sizes: String) -> String {
        var s = "---\nlibrary_name: transformers\ntags:\n- porter-tiny\n- random-weights\n---\n\n"
        s += "# Tiny random \(family)\n\n"
        s += "A tiny copy of the \(family) model in `\(facts.source)` for tests and CI: the same architecture and "
        s += "tokenizer (vocabulary files copied unchanged), shrunk to \(sizes).\n\n"
        s += "**The weights are random** (seeded"
        if let seed = facts.seed { s += " with \(seed)" }
        s += "), not trained: outputs are meaningless. Use it to exercise loading, conversion and shapes, never to predict.\n\n"
        s += "Made by Porter \(facts.porterVersion)"
        if let c = facts.command { s += " with\n\n```\n\(c)\n```\n" } else { s += ".\n" }
        for line in facts.lines { s += "\n- \(line)" }
        if !facts.lines.isEmpty { s += "\n" }
        return s
    }
}
