import Foundation
import PorterCore

/// A parsed, validated mapping file (see `docs/mappings.md`).
public struct Mapping: Sendable {
    public var name: String
    public var description: String
    public var rules: [MappingRule]
    /// Patterns each of which must match at least one produced target name.
    public var require: [String]
    /// Where the mapping came from (a path, or `mappings/<name>.json`).
    public var source: String
    /// Names a rule's expressions may use besides config fields and dims (`"variables"`).
    public var variables: [String: MappingVariable] = [:]

    /// How errors name the mapping: its name and the file it came from.
    public var label: String {
        source.isEmpty || source == name ? name : "\(name) (\(source))"
    }
}

/// One rule of a mapping file.
public struct MappingRule: Sendable {
    public enum Action: Sendable, Equatable {
        /// Rename (or keep, when `to` is nil) with optional transpose, reshape and cast, applied in that order.
        case rename(to: String?, transpose: [Int]?, reshape: [Int]?, cast: DType?)
        case split(axis: Int, into: [String], sizes: [Int]?)
        case concat(with: [String], axis: Int, into: String)
        case drop(reason: String)
        /// Adds target `name` as an alias of produced target `to`.
        case tie(name: String, to: String)
    }

    /// Position in the file (0-based), for messages.
    public var index: Int
    /// Whole-name pattern (nil for ties).
    public var match: NSRegularExpression?
    public var action: Action
    /// Config key paths (dotted) and the values they must equal.
    public var when: [String: JSONValue]
    /// Ranks the matched tensor must have (nil: any), e.g. 4 for Conv2D kernels.
    public var ranks: [Int]? = nil
    /// Shape steps of a rename/keep whose values are expressions (`"steps"`, or a
    /// `"reshape"` with expressions), applied in order after the rename and before `cast`;
    /// nil when the rule has none (its literal transpose/reshape are in `action`).
    public var shapeSteps: [ShapeStep]? = nil
    /// A split's part sizes when they are expressions (`"sizes": ["heads * head_dim", …]`),
    /// evaluated per tensor; nil when the sizes are literal (in `action`) or equal parts.
    public var splitSizes: [WrittenExpression]? = nil
    /// A value added to every element (`"add": 1`) after the shape steps and before `cast`,
    /// recorded as `TransformStep.add` (llama.cpp's Gemma norms are stored as `1 + w`).
    public var add: Double? = nil
}

/// A transpose or reshape of a rule's `steps`; reshape dims are expressions, evaluated
/// per tensor (docs/mappings.md#expressions) and recorded as concrete `TransformStep`s.
public enum ShapeStep: Sendable, Equatable {
    case transpose([Int])
    case reshape([WrittenExpression])
}

/// Failures loading a mapping file.
public enum MappingFileError: Error, Sendable, Equatable {
    case notFound(name: String, searched: [String])
    case unreadable(path: String, reason: String)
    case invalidJSON(path: String, reason: String)
    case wrongFormat(path: String, found: String?)
    case invalidRule(path: String, rule: Int, reason: String)
    case invalidPattern(path: String, rule: Int, pattern: String, reason: String)
    /// An expression that does not parse; `rule` is -1 for the `variables` block, `column` 1-based.
    case invalidExpression(path: String, rule: Int, field: String, expression: String, column: Int, reason: String)
    /// A malformed `variables` entry, or variables that refer to each other in a circle.
    case invalidVariable(path: String, name: String, reason: String)
}

extension MappingFileError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .notFound(name, searched):
            return "mapping '\(name)' not found (looked in \(searched.joined(separator: ", "))); `porter mappings` lists the ones that ship"
        case let .unreadable(path, reason):
            return "\(path): cannot read mapping: \(reason)"
        case let .invalidJSON(path, reason):
            return "\(path): not valid JSON: \(reason)"
        case let .wrongFormat(path, found):
            return "\(path): \"format\" is \(found.map { "'\($0)'" } ?? "missing"); expected 'porter-mapping/1'"
        case let .invalidRule(path, rule, reason):
            return "\(path): rules[\(rule)]: \(reason)"
        case let .invalidPattern(path, rule, pattern, reason):
            return "\(path): rules[\(rule)]: pattern \(pattern) does not compile: \(reason)"
        case let .invalidExpression(path, rule, field, expression, column, reason):
            return "\(path): \(rule >= 0 ? "rules[\(rule)]: " : "")\(field) \(JSONValue.quoted(expression)): column \(column): \(reason)"
        case let .invalidVariable(path, name, reason):
            return "\(path): variables.\(name): \(reason)"
        }
    }
}

extension Mapping {
    public static let formatVersion = "porter-mapping/1"

    /// Parses and validates mapping JSON. `path` names the source in errors.
    public static func parse(_ data: Data, path: String) throws -> Mapping {
        let root: JSONValue
        do { root = try JSONValue.parse(data) } catch {
            throw MappingFileError.invalidJSON(path: path, reason: "\(error)")
        }
        guard root["format"]?.stringValue == formatVersion else {
            throw MappingFileError.wrongFormat(path: path, found: root["format"]?.stringValue)
        }
        guard let name = root["name"]?.stringValue else {
            throw MappingFileError.invalidRule(path: path, rule: -1, reason: "the file has no \"name\"")
        }
        guard let rulesJSON = root["rules"]?.arrayValue else {
            throw MappingFileError.invalidRule(path: path, rule: -1, reason: "the file has no \"rules\" array")
        }
        let variables = try parseVariables(root["variables"], path: path)
        let rules = try rulesJSON.enumerated().flatMap { i, r in try expandingTemplate(r, index: i, path: path).map { try parseRule($0, index: i, path: path) } }
        var require: [String] = []
        for (i, r) in (root["require"]?.arrayValue ?? []).enumerated() {
            guard let s = r.stringValue else {
                throw MappingFileError.invalidRule(path: path, rule: -1, reason: "require[\(i)] is not a string")
            }
            _ = try compile(s, rule: -1, path: path)
            require.append(s)
        }
        return Mapping(name: name, description: root["description"]?.stringValue ?? "", rules: rules, require: require, source: path,
                       variables: variables)
    }

    /// Loads a mapping by file path, or by name from the given folders (`NAME.json`).
    public static func load(_ nameOrPath: String, searchPaths: [URL]) throws -> Mapping {
        let fm = FileManager.default
        var candidates: [URL] = []
        if nameOrPath.hasSuffix(".json") || nameOrPath.contains("/") {
            candidates = [URL(fileURLWithPath: nameOrPath)]
        } else {
            candidates = searchPaths.map { $0.appendingPathComponent("\(nameOrPath).json") }
        }
        guard let url = candidates.first(where: { fm.fileExists(atPath: $0.path) }) else {
            throw MappingFileError.notFound(name: nameOrPath, searched: candidates.map(\.path))
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw MappingFileError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        return try parse(data, path: url.path)
    }

    /// Every mapping found in `folders`, by name.
    public static func available(in folders: [URL]) -> [(name: String, description: String, path: String)] {
        var out: [(String, String, String)] = []
        var seen = Set<String>()
        for folder in folders {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
            for n in names {
                let url = folder.appendingPathComponent(n)
                guard let m = try? load(url.path, searchPaths: []), !seen.contains(m.name) else { continue }
                seen.insert(m.name)
                out.append((m.name, m.description, url.path))
            }
        }
        return out
    }

    static func compile(_ pattern: String, rule: Int, path: String) throws -> NSRegularExpression {
        do { return try NSRegularExpression(pattern: pattern) } catch {
            throw MappingFileError.invalidPattern(path: path, rule: rule, pattern: pattern, reason: "\(error)")
        }
    }

    static func parseRule(_ json: JSONValue, index: Int, path: String) throws -> MappingRule {
        func fail(_ reason: String) -> MappingFileError { .invalidRule(path: path, rule: index, reason: reason) }
        guard let obj = json.objectValue else { throw fail("not an object") }
        let known: Set<String> = ["match", "rename", "keep", "transpose", "reshape", "cast", "split", "concat", "drop", "tie", "to", "when", "rank", "comment", "steps", "add"]
        if let unknown = obj.keys.filter({ !known.contains($0) }).sorted().first {
            throw fail("unknown key \"\(unknown)\"")
        }
        func ints(_ key: String) throws -> [Int]? {
            guard let v = obj[key] else { return nil }
            guard let a = v.arrayValue, let ints = Optional(a.compactMap(\.intValue)), ints.count == a.count else {
                throw fail("\"\(key)\" must be an array of integers")
            }
            return ints
        }
        var when: [String: JSONValue] = [:]
        if let w = obj["when"] {
            guard let o = w.objectValue else { throw fail("\"when\" must be an object of key path → value") }
            when = o
        }
        let actions = ["rename", "keep", "split", "concat", "drop", "tie"].filter { obj[$0] != nil }
        guard actions.count == 1 else {
            throw fail(actions.isEmpty ? "no action (rename, keep, split, concat, drop or tie)" : "more than one action: \(actions.joined(separator: ", "))")
        }
        let modifiers = ["transpose", "reshape", "steps", "cast", "add"].filter { obj[$0] != nil }
        if !modifiers.isEmpty && !(actions[0] == "rename" || actions[0] == "keep") {
            throw fail("\(modifiers.joined(separator: ", ")) goes only with rename or keep")
        }
        var ranks: [Int]?
        if let r = obj["rank"] {
            let values = r.intValue.map { [$0] } ?? r.arrayValue?.compactMap(\.intValue)
            guard let values, !values.isEmpty, values.count == (r.arrayValue?.count ?? 1), values.allSatisfy({ (0...64).contains($0) }) else {
                throw fail("\"rank\" must be a rank (0...64) or a list of ranks")
            }
            ranks = values
        }
        if actions[0] == "tie" {
            if ranks != nil { throw fail("tie takes no \"rank\"") }
            guard let name = obj["tie"]?.stringValue, let to = obj["to"]?.stringValue else {
                throw fail("tie needs \"tie\": target name and \"to\": the target it aliases")
            }
            if obj["match"] != nil { throw fail("tie takes no \"match\"") }
            return MappingRule(index: index, match: nil, action: .tie(name: name, to: to), when: when)
        }
        guard let pattern = obj["match"]?.stringValue else { throw fail("needs a \"match\" pattern") }
        let regex = try compile(pattern, rule: index, path: path)
        let action: MappingRule.Action
        switch actions[0] {
        case "rename", "keep":
            var to: String?
            if actions[0] == "rename" {
                guard let s = obj["rename"]?.stringValue else { throw fail("\"rename\" must be a string") }
                to = s
            } else if obj["keep"]?.boolValue != true {
                throw fail("\"keep\" must be true")
            }
            var cast: DType?
            if let c = obj["cast"] {
                guard let s = c.stringValue, let d = DType(rawValue: s), d.isCastableFloat else {
                    throw fail("\"cast\" must be one of f16, bf16, f32, f64")
                }
                cast = d
            }
            var add: Double?
            if let a = obj["add"] {
                guard let d = a.doubleValue, d.isFinite else { throw fail("\"add\" must be a finite number") }
                add = d
            }
            let shapeSteps = try parseShapeSteps(obj, rule: index, path: path)
            action = .rename(to: to, transpose: shapeSteps == nil ? try ints("transpose") : nil,
                             reshape: shapeSteps == nil ? try ints("reshape") : nil, cast: cast)
            return MappingRule(index: index, match: regex, action: action, when: when, ranks: ranks, shapeSteps: shapeSteps, add: add)
        case "split":
            guard let s = obj["split"]?.objectValue, let axis = s["axis"]?.intValue,
                  let into = s["into"]?.arrayValue?.compactMap(\.stringValue), !into.isEmpty else {
                throw fail("split needs {\"axis\": int, \"into\": [names]}")
            }
            var sizes: [Int]?
            if let sz = s["sizes"], let a = sz.arrayValue, a.contains(where: { $0.stringValue != nil }) {
                // Sizes computed per tensor (docs/mappings.md#expressions), e.g. a fused qkv by head counts.
                guard a.count == into.count else { throw fail("split \"sizes\" must list one integer or expression per part") }
                let written = try a.enumerated().map { i, v -> WrittenExpression in
                    guard v.stringValue != nil || { if case .int = v { return true }; return false }() else {
                        throw fail("split.sizes[\(i)] must be an integer or an expression string")
                    }
                    return try expression(v, field: "split.sizes[\(i)]", rule: index, path: path)
                }
                return MappingRule(index: index, match: regex, action: .split(axis: axis, into: into, sizes: nil), when: when, ranks: ranks,
                                   splitSizes: written)
            }
            if let sz = s["sizes"] {
                guard let a = sz.arrayValue?.compactMap(\.intValue), a.count == into.count else {
                    throw fail("split \"sizes\" must list one integer per part")
                }
                sizes = a
            }
            action = .split(axis: axis, into: into, sizes: sizes)
        case "concat":
            guard let c = obj["concat"]?.objectValue, let axis = c["axis"]?.intValue,
                  let with = c["with"]?.arrayValue?.compactMap(\.stringValue), let into = c["into"]?.stringValue else {
                throw fail("concat needs {\"with\": [names], \"axis\": int, \"into\": name}")
            }
            action = .concat(with: with, axis: axis, into: into)
        default:
            guard let reason = obj["drop"]?.stringValue, !reason.isEmpty else { throw fail("\"drop\" must be a non-empty reason") }
            action = .drop(reason: reason)
        }
        return MappingRule(index: index, match: regex, action: action, when: when, ranks: ranks)
    }
}
