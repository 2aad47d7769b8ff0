import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One kind of entry a writer puts in an output folder.
public enum OutputEntry: Sendable, Hashable {
    /// A file of exactly this name.
    case file(String)
    /// Shards `<base>-00001-of-00003<suffix>` (five digits or more each, as the
    /// safetensors and transformers shard names are).
    case shards(base: String, suffix: String)
    /// A folder of this name holding only entries of `contents`.
    case folder(String, contents: [OutputEntry])
}

/// What a writer produces, so `--force` replaces only that: a file by a file, and a
/// folder only when every entry in it is one the writer itself writes.
public struct OutputLayout: Sendable, Hashable {
    public var isFolder: Bool
    /// The entries of a folder output (empty for a file).
    public var entries: [OutputEntry]
    /// Who writes it, for messages (`the Hugging Face model folder writer`).
    public var producer: String

    public static func file(producer: String) -> OutputLayout {
        OutputLayout(isFolder: false, entries: [], producer: producer)
    }

    public static func folder(_ entries: [OutputEntry], producer: String) -> OutputLayout {
        OutputLayout(isFolder: true, entries: entries, producer: producer)
    }

    /// Throws unless replacing what is at `target` would delete only what this layout
    /// writes. A missing target passes.
    public func checkReplaceable(_ target: URL) throws {
        let path = target.path
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        if !isDirectory {
            // A file, a link (replaced, never followed), a FIFO ...: only a file replaces it.
            if isFolder { throw OutputError.kindMismatch(target: path, existingIsFolder: false, producer: producer) }
            return
        }
        guard isFolder else {
            // A file output replaces an empty folder only.
            if let entry = try Self.firstForeign(in: path, relative: "", allowed: []) {
                throw OutputError.kindMismatch(target: path, existingIsFolder: true, producer: producer, firstEntry: entry)
            }
            return
        }
        if let entry = try Self.firstForeign(in: path, relative: "", allowed: entries) {
            throw OutputError.foreignEntry(target: path, entry: entry, producer: producer)
        }
    }

    /// The first entry (sorted by name, depth first) under `folder` that `allowed` does
    /// not describe, as a path relative to the output; nil when there is none.
    static func firstForeign(in folder: String, relative: String, allowed: [OutputEntry]) throws -> String? {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted() } catch {
            throw CoreError.cannotOpen(path: folder, reason: "cannot list the folder to check what --force would replace: \(error.localizedDescription)")
        }
        for name in names {
            let rel = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(folder + "/" + name, &st) == 0 else { return rel }
            let kind = st.st_mode & S_IFMT
            if kind == S_IFDIR {
                guard let contents = allowed.lazy.compactMap({ entry -> [OutputEntry]? in
                    if case let .folder(n, contents) = entry, n == name { return contents }
                    return nil
                }).first else { return rel }
                if let inner = try firstForeign(in: folder + "/" + name, relative: rel, allowed: contents) { return inner }
            } else if kind == S_IFREG {
                guard allowed.contains(where: { $0.matchesFile(name) }) else { return rel }
            } else {
                return rel  // links, sockets, FIFOs: never written by a Porter writer
            }
        }
        return nil
    }
}

extension OutputEntry {
    /// True when a regular file named `name` is this entry.
    public func matchesFile(_ name: String) -> Bool {
        switch self {
        case let .file(n): return n == name
        case .folder: return false
        case let .shards(base, suffix):
            guard name.hasPrefix(base + "-"), name.hasSuffix(suffix), name.utf8.count > base.utf8.count + 1 + suffix.utf8.count else { return false }
            let middle = name.dropFirst(base.count + 1).dropLast(suffix.count)
            let parts = middle.components(separatedBy: "-of-")
            return parts.count == 2 && parts.allSatisfy { $0.utf8.count >= 5 && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        }
    }
}

extension ModelWriter {
    /// Default: a file, or a folder whose entries the writer does not declare (so
    /// `--force` replaces only an empty folder). Folder writers declare their entries.
    public func outputLayout(for model: NeutralModel, options: WriteOptions) -> OutputLayout {
        producesDirectory(for: model, options: options) ? .folder([], producer: "the \(info.name) writer") : .file(producer: "the \(info.name) writer")
    }
}

/// Why an output cannot be replaced or staged.
public enum OutputError: Error, Sendable, Equatable {
    /// `--force` would delete `entry` (relative to `target`), which the writer does not produce.
    case foreignEntry(target: String, entry: String, producer: String)
    /// A folder where a file would go, or a file where a folder would go.
    case kindMismatch(target: String, existingIsFolder: Bool, producer: String, firstEntry: String? = nil)
}

extension OutputError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .foreignEntry(target, entry, producer):
            return "\(target): --force replaces only what \(producer) writes, and \(target)/\(entry) is not one of its files; nothing was deleted (move it away or choose another output)"
        case let .kindMismatch(target, existingIsFolder, producer, firstEntry):
            if existingIsFolder {
                return "\(target) is a folder holding \(firstEntry.map { "\(target)/\($0)" } ?? "files") and \(producer) writes a single file; --force replaces a folder only by a folder of the same format; nothing was deleted"
            }
            return "\(target) is a file and \(producer) writes a folder; --force replaces a file only by a file; nothing was deleted"
        }
    }
}
