import Foundation
import PorterCore

/// A family's typed config: Codable, decoded from a `config.json` whose keys may use any
/// of the spellings in `aliases` (the first spelling is the one Porter writes).
///
/// Decode with `ConfigKeys` (`container.required(...)`, `container.value(..., default:)`)
/// so a missing or mistyped key throws `ArchitectureError.badConfig` naming it.
public protocol ArchitectureConfig: Codable, Sendable {
    /// Canonical key → every spelling accepted, canonical first (`n_embd`, `hidden_size`).
    static var aliases: [String: [String]] { get }
}

extension ArchitectureConfig {
    public static var aliases: [String: [String]] { [:] }

    /// The spellings of `key`, canonical first.
    static func spellings(_ key: String) -> [String] { aliases[key] ?? [key] }

    /// Decodes `json`; errors name `model` and the key.
    public static func decode(_ json: JSONValue, model: String) throws -> Self {
        let data = try json.encoded(pretty: false)
        let decoder = JSONDecoder()
        decoder.userInfo[ConfigKey.modelInfo] = model
        do {
            return try decoder.decode(Self.self, from: data)
        } catch let e as ArchitectureError {
            throw e
        } catch {
            throw ArchitectureError.badConfig(model: model, key: "(config)", detail: "is not an object: \(error.localizedDescription)")
        }
    }

    /// `original` with this config's fields written over it: each field under the spelling
    /// `original` already uses, else the canonical one. Keys the config does not model stay.
    public static func merge(_ config: Self, into original: JSONValue) throws -> JSONValue {
        let encoded = try JSONValue.parse(try JSONEncoder().encode(config))
        guard var out = original.objectValue, let fields = encoded.objectValue else { return encoded }
        for (key, value) in fields where !value.isNull {
            let spelled = spellings(key).first { out[$0] != nil } ?? key
            out[spelled] = value
        }
        return .object(out)
    }
}

/// A config key by name, for alias-aware decoding.
public struct ConfigKey: CodingKey, Sendable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ s: String) { stringValue = s }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }

    static let modelInfo = CodingUserInfoKey(rawValue: "porter.model")!
}

extension Decoder {
    /// The container of a family config, with the model name for errors.
    public func configContainer<C: ArchitectureConfig>(_ type: C.Type) throws -> ConfigContainer<C> {
        ConfigContainer(container: try container(keyedBy: ConfigKey.self), model: userInfo[ConfigKey.modelInfo] as? String ?? "config")
    }
}

/// Reads typed values under any of a key's spellings.
public struct ConfigContainer<C: ArchitectureConfig> {
    let container: KeyedDecodingContainer<ConfigKey>
    public let model: String

    private func describe<T>(_ type: T.Type) -> String {
        switch type {
        case is Int.Type, is Int?.Type: return "an integer"
        case is Double.Type, is Double?.Type: return "a number"
        case is Bool.Type, is Bool?.Type: return "true/false"
        case is String.Type, is String?.Type: return "a string"
        default: return "a \(type)"
        }
    }

    /// The value under the first spelling present and not null, nil when none is.
    public func optional<T: Decodable>(_ type: T.Type, _ key: String) throws -> T? {
        for spelling in C.spellings(key) {
            let k = ConfigKey(spelling)
            guard container.contains(k), !(try container.decodeNil(forKey: k)) else { continue }
            if T.self == Int.self, let d = try? container.decode(Double.self, forKey: k) {
                guard let i = Int(exactly: d) else { throw ArchitectureError.badConfig(model: model, key: spelling, detail: "is not an integer") }
                return i as? T
            }
            do { return try container.decode(T.self, forKey: k) } catch {
                throw ArchitectureError.badConfig(model: model, key: spelling, detail: "is not \(describe(type))")
            }
        }
        return nil
    }

    public func required<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
        guard let v = try optional(type, key) else {
            throw ArchitectureError.badConfig(model: model, key: key, detail: "is missing or not \(describe(type))")
        }
        return v
    }

    public func value<T: Decodable>(_ type: T.Type, _ key: String, default d: T) throws -> T {
        try optional(type, key) ?? d
    }

    /// Throws `badConfig` for `key` unless `ok`.
    public func check(_ ok: Bool, _ key: String, _ detail: String) throws {
        if !ok { throw ArchitectureError.badConfig(model: model, key: key, detail: detail) }
    }
}
