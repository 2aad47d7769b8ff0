import Foundation
import PorterCore
import PorterTestSupport
import Testing
@testable import PorterTensorFlow

/// Checks the shipped TensorFlow mapping files against transformers' own TF → PyTorch
/// name conversion (recorded at fixture generation). A minimal first-match evaluator of
/// `rename`/`drop`/`transpose` (docs/mappings.md) stands in for the mapping engine.
@Suite struct MappingFileTests {
    struct Outcome: Equatable { var name: String?; var transposed: Bool; var dropped: Bool }

    static func load(_ file: String) throws -> [JSONValue] {
        let json = try JSONValue.parse(Data(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("mappings/\(file)")))
        #expect(json["format"]?.stringValue == "porter-mapping/1")
        return json["rules"]?.arrayValue ?? []
    }

    static func apply(_ rules: [JSONValue], to name: String) throws -> Outcome? {
        for rule in rules {
            guard let pattern = rule["match"]?.stringValue else { continue }
            let re = try NSRegularExpression(pattern: pattern)
            let range = NSRange(name.startIndex..., in: name)
            guard let m = re.firstMatch(in: name, range: range), m.range == range else { continue }
            if rule["drop"] != nil { return Outcome(name: nil, transposed: false, dropped: true) }
            let template = rule["rename"]?.stringValue ?? name
            let renamed = re.replacementString(for: m, in: name, offset: 0, template: template)
            return Outcome(name: renamed, transposed: rule["transpose"] != nil, dropped: false)
        }
        return nil
    }

    static var tfToPT: [String: JSONValue] { Expected.json["hf_tf_to_pt"]?.objectValue ?? [:] }

    @Test func hfTFToPTMatchesTransformers() throws {
        let rules = try Self.load("hf-tf-to-pt.json")
        #expect(!Self.tfToPT.isEmpty)
        for (tfName, facts) in Self.tfToPT {
            let outcome = try #require(try Self.apply(rules, to: tfName), "\(tfName) is unmapped")
            #expect(outcome.name == facts["pt"]?.stringValue, "\(tfName)")
            #expect(outcome.transposed == (facts["transpose"]?.stringValue == "SIMPLE"), "\(tfName)")
        }
    }

    @Test func tf1BertCoversBertModel() throws {
        let rules = try Self.load("tf1-bert-to-hf-bert.json")
        // BertModel's PyTorch names, as transformers names them (without the `bert.` scope).
        let ptNames = Set(Self.tfToPT.values.compactMap { $0["pt"]?.stringValue }.map { $0.hasPrefix("bert.") ? String($0.dropFirst(5)) : $0 })
        let transposedPT = Set(Self.tfToPT.values.filter { $0["transpose"]?.stringValue == "SIMPLE" }.compactMap { $0["pt"]?.stringValue }
            .map { String($0.dropFirst(5)) })
        #expect(!ptNames.isEmpty)
        let bundle = try TensorBundle(prefix: Expected.prefix("bert_tf1/bert_model.ckpt"))
        var produced = Set<String>()
        for name in bundle.names {
            let outcome = try #require(try Self.apply(rules, to: name), "\(name) is unmapped")
            if outcome.dropped { #expect(name == "global_step"); continue }
            let target = try #require(outcome.name)
            #expect(ptNames.contains(target), "\(name) → \(target) is not a BertModel weight")
            #expect(outcome.transposed == transposedPT.contains(target), "\(name)")
            // Shapes agree once transposed.
            let info = try bundle.info(name)
            let ptShape = Self.tfToPT.values.first { $0["pt"]?.stringValue == "bert." + target }?["shape"]?.arrayValue?.compactMap(\.intValue)
            #expect(ptShape == info.shape, "\(name)")
            #expect(produced.insert(target).inserted, "two sources map to \(target)")
        }
        #expect(produced == ptNames)
    }
}
