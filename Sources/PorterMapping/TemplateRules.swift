import Foundation
import PorterArchitectures
import PorterCore

/// The `template` rule kind: `{"template": "bert", "from": "hf-pt", "to": "tf-h5"}` stands
/// for the rename rules the architecture descriptor's tensor templates expand to
/// (`ArchitectureDescriptor.mappingRules(from:to:)`), in place, in the descriptor's order.
extension Mapping {
    static let templateKeys: Set<String> = ["template", "from", "to", "comment"]

    /// `json` itself, or the rules its template expands to.
    static func expandingTemplate(_ json: JSONValue, index: Int, path: String,
                                  registry: ArchitectureRegistry = .standard) throws -> [JSONValue] {
        guard let obj = json.objectValue, let family = obj["template"] else { return [json] }
        func fail(_ reason: String) -> MappingFileError { .invalidRule(path: path, rule: index, reason: reason) }
        if let unknown = obj.keys.filter({ !templateKeys.contains($0) }).sorted().first {
            throw fail("unknown key \"\(unknown)\" in a template rule (it takes template, from, to)")
        }
        guard let f = family.stringValue, let from = obj["from"]?.stringValue, let to = obj["to"]?.stringValue else {
            throw fail("a template rule needs \"template\": family, \"from\" and \"to\": naming schemes (strings)")
        }
        do {
            return try registry.mappingRules(family: f, from: from, to: to)
        } catch {
            throw fail("template: \(error.localizedDescription)")
        }
    }
}
