import Foundation

/// Describes a format for `porter formats` and the registry.
public struct FormatInfo: Sendable, Hashable {
    /// Stable id used on the command line (`safetensors`, `pytorch`, `porter`).
    public var id: String
    public var name: String
    /// Typical file names or extensions, for help text.
    public var extensions: [String]
    public var summary: String

    public init(id: String, name: String, extensions: [String], summary: String) {
        self.id = id
        self.name = name
        self.extensions = extensions
        self.summary = summary
    }
}

/// What a probe may look at: the path, the first bytes of a file, and listings of the
/// folder it is in or is. Probes look at nothing else (no `FileManager` behind its back),
/// so detection is one directory read per level, done here.
public struct ProbeInput: Sendable {
    public let url: URL
    public let isDirectory: Bool
    /// First bytes of the file (up to 4096); empty for folders.
    public let head: [UInt8]
    /// File size in bytes (0 for folders).
    public let size: Int
    /// Entry names of a folder (not recursive); empty for files.
    public let entries: Set<String>
    /// Entry names of the folder holding a file (the file included); empty for folders.
    public let siblings: Set<String>
    /// For a folder: the entries of each of its immediate subfolders (`variables` →
    /// `variables.index`, ...), at most `subfolderLimit` of them; empty for files.
    public let subfolders: [String: Set<String>]

    public init(url: URL, isDirectory: Bool, head: [UInt8], size: Int, entries: Set<String>,
                siblings: Set<String> = [], subfolders: [String: Set<String>] = [:]) {
        self.url = url
        self.isDirectory = isDirectory
        self.head = head
        self.size = size
        self.entries = entries
        self.siblings = siblings
        self.subfolders = subfolders
    }

    public static let headLength = 4096
    /// Subfolders listed for a folder probe (a model folder has a handful).
    public static let subfolderLimit = 64

    /// Reads what a probe needs from disk. A path that does not exist but names a
    /// checkpoint prefix (TensorFlow's `model.ckpt` for `model.ckpt.index` + data shards)
    /// is probed through its `.index` file.
    public static func load(_ url: URL) throws -> ProbeInput {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let index = URL(fileURLWithPath: url.path + ".index")
        if !fm.fileExists(atPath: url.path), fm.fileExists(atPath: index.path) {
            return try load(index)
        }
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw CoreError.cannotOpen(path: url.path, reason: "no such file or folder")
        }
        if isDir.boolValue {
            let names = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
            var subfolders: [String: Set<String>] = [:]
            for name in names.sorted() where subfolders.count < subfolderLimit {
                var sub: ObjCBool = false
                let path = url.appendingPathComponent(name).path
                guard fm.fileExists(atPath: path, isDirectory: &sub), sub.boolValue else { continue }
                subfolders[name] = Set((try? fm.contentsOfDirectory(atPath: path)) ?? [])
            }
            return ProbeInput(url: url, isDirectory: true, head: [], size: 0, entries: Set(names), subfolders: subfolders)
        }
        let file = try OpenFile(path: url.path)
        let head = try file.read(offset: 0, count: min(headLength, file.size))
        let siblings = (try? fm.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)) ?? []
        return ProbeInput(url: url, isDirectory: false, head: head, size: file.size, entries: [], siblings: Set(siblings))
    }

    public func headStarts(with magic: [UInt8]) -> Bool {
        head.count >= magic.count && Array(head.prefix(magic.count)) == magic
    }
}

/// How sure a probe is that it can read the input.
public enum ProbeConfidence: Int, Sendable, Comparable {
    case no = 0
    /// The name or folder shape suggests it.
    case likely = 1
    /// Magic bytes or a defining file confirm it.
    case certain = 2

    public static func < (a: ProbeConfidence, b: ProbeConfidence) -> Bool { a.rawValue < b.rawValue }
}

/// Receives progress of long work. Implementations must be cheap to call.
public protocol ProgressSink: Sendable {
    func begin(_ label: String, totalUnits: Int64)
    func advance(_ units: Int64)
    func end()
}

/// A progress sink that ignores everything.
public struct SilentProgress: ProgressSink {
    public init() {}
    public func begin(_ label: String, totalUnits: Int64) {}
    public func advance(_ units: Int64) {}
    public func end() {}
}

/// Options every reader accepts; format-specific ones go in `extra`, under the keys the
/// reader declares in `ModelReader.options` (checked by `FormatOption.check` first).
public struct ReadOptions: Sendable {
    public var progress: any ProgressSink
    /// Format-specific settings (`checkpoint`, `src-lang`, ...).
    public var extra: [String: String]

    public init(progress: any ProgressSink = SilentProgress(), extra: [String: String] = [:]) {
        self.progress = progress
        self.extra = extra
    }
}

/// Options every writer accepts.
public struct WriteOptions: Sendable {
    public var progress: any ProgressSink
    /// Split weights into shards of at most this many bytes (nil: one file). Only writers
    /// that declare `FormatOption.maxShardSize` shard; the pipeline refuses it for others.
    public var maxShardSize: Int?
    /// Format-specific settings, under the keys the writer declares in `ModelWriter.options`.
    public var extra: [String: String]

    public init(progress: any ProgressSink = SilentProgress(), maxShardSize: Int? = nil, extra: [String: String] = [:]) {
        self.progress = progress
        self.maxShardSize = maxShardSize
        self.extra = extra
    }
}

/// One setting a reader or writer accepts (`--read-option KEY=VALUE`,
/// `--write-option KEY=VALUE`), listed by `porter formats`. A key ending in `.` is a
/// family: `config.` accepts `config.num_beams`, `config.length_penalty`, ...
public struct FormatOption: Sendable, Hashable {
    /// What values the option takes.
    public enum Value: Sendable, Hashable {
        /// Any text; the name shown in help (`file`, `lang`).
        case text(String)
        /// `true` or `false`.
        case bool
        /// One of these words.
        case choice([String])
        /// A size: `500MB`, `5GB`, `10GiB`, `4096` (bytes).
        case size
        /// A JSON value; text that is not JSON is taken as a string.
        case json
    }

    public var key: String
    public var value: Value
    /// The value used when the option is not given (nil: none, or decided from the input).
    public var defaultValue: String?
    /// One line for `porter formats`.
    public var help: String
    /// Also accepted as a command-line flag of its own, `--KEY VALUE` (the CLI turns it into
    /// `--read-option KEY=VALUE` / `--write-option KEY=VALUE` before parsing).
    public var isFlag: Bool

    public init(_ key: String, _ value: Value, default defaultValue: String? = nil, flag: Bool = false, help: String) {
        self.key = key
        self.value = value
        self.defaultValue = defaultValue
        self.help = help
        self.isFlag = flag
    }

    /// `--max-shard-size`, for writers that can split their weights.
    public static let maxShardSize = FormatOption("max-shard-size", .size,
                                                  help: "split the weights into files of at most this size (same as --max-shard-size)")

    public var isFamily: Bool { key.hasSuffix(".") }

    public func matches(_ name: String) -> Bool {
        isFamily ? name.hasPrefix(key) && name.count > key.count : name == key
    }

    /// How the key and its values read in help: `names=objects|variables`, `config.<key>=<json>`.
    public var usage: String {
        let k = isFamily ? key + "<key>" : key
        switch value {
        case let .text(name): return "\(k)=<\(name)>"
        case .bool: return "\(k)=true|false"
        case let .choice(words): return "\(k)=\(words.joined(separator: "|"))"
        case .size: return "\(k)=<size>"
        case .json: return "\(k)=<json>"
        }
    }

    /// What the value must look like, or nil when `text` is acceptable.
    public func problem(with text: String) -> String? {
        switch value {
        case .text, .json: return nil
        case .bool: return text == "true" || text == "false" ? nil : "true or false"
        case let .choice(words): return words.contains(text) ? nil : "one of " + words.joined(separator: ", ")
        case .size: return Self.parseSize(text) == nil ? "a size like 500MB, 5GB or 4096 (bytes)" : nil
        }
    }

    /// Parses sizes like `500MB`, `5GB`, `10GiB`, `4096` (bytes); nil for anything else or ≤ 0.
    public static func parseSize(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Int)] = [("KIB", 1 << 10), ("MIB", 1 << 20), ("GIB", 1 << 30), ("TIB", 1 << 40),
                                      ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("B", 1)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), v > 0 else { return nil }
            let bytes = v * Double(factor)
            return bytes < Double(Int.max) ? Int(bytes) : nil
        }
        guard let v = Int(t), v > 0 else { return nil }
        return v
    }

    /// Checks `settings` against `declared`: every key must be declared and every value
    /// acceptable. `format` and `direction` name the reader or writer in the error.
    public static func check(_ settings: [String: String], against declared: [FormatOption],
                             format: String, direction: FormatOptionError.Direction) throws {
        for (key, text) in settings.sorted(by: { $0.key < $1.key }) {
            guard let option = declared.first(where: { $0.matches(key) }) else {
                throw FormatOptionError.unknownKey(format: format, direction: direction, key: key, known: declared.map(\.usage))
            }
            if let expected = option.problem(with: text) {
                throw FormatOptionError.badValue(format: format, direction: direction, key: key, value: text, expected: expected)
            }
        }
    }
}

/// A `--read-option` / `--write-option` the chosen format does not take: a usage error
/// (the CLI exits 2), raised before anything is read or written.
public enum FormatOptionError: Error, Sendable, Equatable {
    public enum Direction: String, Sendable {
        case read, write

        var noun: String { self == .read ? "reader" : "writer" }
    }

    case unknownKey(format: String, direction: Direction, key: String, known: [String])
    case badValue(format: String, direction: Direction, key: String, value: String, expected: String)
}

extension FormatOptionError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .unknownKey(format, direction, key, known):
            let list = known.isEmpty ? "it takes no \(direction.rawValue) options" : "it takes: " + known.joined(separator: ", ")
            let flag = direction == .write && key == FormatOption.maxShardSize.key ? "--max-shard-size" : "--\(direction.rawValue)-option"
            return "the \(format) \(direction.noun) has no option '\(key)' (\(flag)); \(list); see `porter formats`"
        case let .badValue(format, direction, key, value, expected):
            return "the \(format) \(direction.noun)'s option \(key)='\(value)' is not valid: expected \(expected)"
        }
    }
}

/// Recognises and reads one input format into a `NeutralModel`.
public protocol ModelReader: Sendable {
    var info: FormatInfo { get }
    /// The `--read-option` keys this reader takes (default: none).
    var options: [FormatOption] { get }
    func probe(_ input: ProbeInput) -> ProbeConfidence
    func read(_ url: URL, options: ReadOptions) throws -> NeutralModel
}

/// Writes a `NeutralModel` in one output format.
///
/// `write` is given the final location's temporary twin (a sibling path); the
/// pipeline renames it into place only when `write` returns, so writers never deal
/// with atomicity or `--force`.
public protocol ModelWriter: Sendable {
    var info: FormatInfo { get }
    /// The `--write-option` keys this writer takes (default: none).
    var options: [FormatOption] { get }
    /// True when the output is a folder rather than a single file.
    func producesDirectory(for model: NeutralModel, options: WriteOptions) -> Bool
    /// What the output holds, so `--force` replaces only that (default in `OutputLayout.swift`).
    func outputLayout(for model: NeutralModel, options: WriteOptions) -> OutputLayout
    /// Throws when the writer cannot write `model` at all (e.g. a folder format that needs a
    /// config the model lacks); called before any output is staged (default: accepts all).
    func check(_ model: NeutralModel, options: WriteOptions) throws
    /// What a user should know about writing `model` in this format that the output cannot say
    /// (a behaviour the target's runtime will not reproduce); shown as notes of the conversion
    /// (default: none).
    func notes(for model: NeutralModel, options: WriteOptions) throws -> [String]
    func write(_ model: NeutralModel, to url: URL, options: WriteOptions) throws
    /// The file name a single-file output gets when `-o` names a folder (default: `model`
    /// and the first extension in `info.extensions`, e.g. `model.safetensors`).
    var defaultFileName: String { get }
}

extension ModelReader {
    public var options: [FormatOption] { [] }
}

extension ModelWriter {
    public func notes(for model: NeutralModel, options: WriteOptions) throws -> [String] { [] }

    public var defaultFileName: String {
        "model" + (info.extensions.first { $0.hasPrefix(".") } ?? "")
    }
    public var options: [FormatOption] { [] }
    public func check(_ model: NeutralModel, options: WriteOptions) throws {}
}

public enum RegistryError: Error, Sendable, Equatable {
    case unrecognised(path: String, known: [String])
    case ambiguous(path: String, candidates: [String])
    case unknownWriter(id: String, known: [String])
    case unknownReader(id: String, known: [String])
}

extension RegistryError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .unrecognised(path, known):
            return "\(path): not a format Porter reads (tried: \(known.joined(separator: ", "))); see `porter formats`"
        case let .ambiguous(path, candidates):
            return "\(path): could be any of \(candidates.joined(separator: ", ")); name one with --from"
        case let .unknownWriter(id, known):
            return "no writer called '\(id)'; Porter writes: \(known.joined(separator: ", "))"
        case let .unknownReader(id, known):
            return "no reader called '\(id)'; Porter reads: \(known.joined(separator: ", "))"
        }
    }
}

/// The one place that knows every reader and writer. Detection asks every reader's
/// probe and takes the most confident answer.
public struct FormatRegistry: Sendable {
    public var readers: [any ModelReader]
    public var writers: [any ModelWriter]

    public init(readers: [any ModelReader], writers: [any ModelWriter]) {
        self.readers = readers
        self.writers = writers
    }

    /// The reader for `url`, by probing, or by id when `format` is given.
    public func reader(for url: URL, format: String? = nil) throws -> any ModelReader {
        if let format {
            guard let r = readers.first(where: { $0.info.id == format }) else {
                throw RegistryError.unknownReader(id: format, known: readers.map(\.info.id))
            }
            return r
        }
        let input = try ProbeInput.load(url)
        let scored = readers.map { ($0, $0.probe(input)) }.filter { $0.1 != .no }
        guard let best = scored.map(\.1).max() else {
            throw RegistryError.unrecognised(path: url.path, known: readers.map(\.info.id))
        }
        let top = scored.filter { $0.1 == best }
        if top.count > 1 {
            throw RegistryError.ambiguous(path: url.path, candidates: top.map(\.0.info.id))
        }
        return top[0].0
    }

    public func writer(_ id: String) throws -> any ModelWriter {
        guard let w = writers.first(where: { $0.info.id == id }) else {
            throw RegistryError.unknownWriter(id: id, known: writers.map(\.info.id))
        }
        return w
    }
}
