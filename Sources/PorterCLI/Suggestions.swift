import ArgumentParser
import PorterCore
import PorterPipeline

/// "Did you mean …": the closest of a set of known words to a misspelt one, by edit distance.
enum Suggestions {
    /// Edit distance over characters (case-insensitive): insertions, deletions, substitutions
    /// and swaps of two neighbours (`f61` is one edit from `f16`), each counting one.
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased()), y = Array(b.lowercased())
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = Array(repeating: Array(repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                d[i][j] = Swift.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] { d[i][j] = Swift.min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[x.count][y.count]
    }

    /// The known words nearest to `word`, when near enough to be a likely misspelling: within
    /// a third of the longer word's length (at least 2 edits), or one a prefix of the other.
    static func closest(to word: String, among known: [String]) -> [String] {
        let scored = known.map { k -> (String, Int) in
            let prefix = !word.isEmpty && (k.lowercased().hasPrefix(word.lowercased()) || word.lowercased().hasPrefix(k.lowercased()))
            return (k, prefix ? 1 : distance(word, k))
        }.filter { k, d in d <= Swift.max(2, Swift.max(word.count, k.count) / 3) }
        guard let best = scored.map(\.1).min() else { return [] }
        var seen = Set<String>()
        return scored.filter { $0.1 == best }.map(\.0).filter { seen.insert($0).inserted }
    }

    /// " (did you mean 'x'?)", or "" when nothing is near.
    static func hint(for word: String, among known: [String]) -> String {
        let near = closest(to: word, among: known)
        guard !near.isEmpty else { return "" }
        return "; did you mean " + near.map { "'\($0)'" }.joined(separator: " or ") + "?"
    }
}

/// Checks of `--to` / `--from` against the registry, thrown as usage errors (exit 2).
enum FormatChoice {
    static func checkWriter(_ id: String, registry: FormatRegistry) throws {
        let known = registry.writers.map(\.info.id)
        guard known.contains(id) else {
            throw ValidationError("--to: no writer called '\(id)'\(Suggestions.hint(for: id, among: known)) (Porter writes: \(known.joined(separator: ", ")))")
        }
    }

    static func checkReader(_ id: String?, registry: FormatRegistry) throws {
        guard let id else { return }
        let known = registry.readers.map(\.info.id)
        guard known.contains(id) else {
            throw ValidationError("--from: no reader called '\(id)'\(Suggestions.hint(for: id, among: known)) (Porter reads: \(known.joined(separator: ", ")))")
        }
    }

    /// `--dtype`: a `DTypeChoice`, or a usage error naming the nearest.
    static func dtype(_ text: String) throws -> DTypeChoice {
        if let d = DTypeChoice(rawValue: text) { return d }
        let known = DTypeChoice.allCases.map(\.rawValue)
        throw ValidationError("no dtype '\(text)'\(Suggestions.hint(for: text, among: known)) (one of \(known.joined(separator: ", ")))")
    }

    /// `--framework` of `reference-script`: a `ReferenceFramework`, or a usage error naming the nearest.
    static func framework(_ text: String) throws -> ReferenceFramework {
        if let f = ReferenceFramework(rawValue: text) { return f }
        let known = ReferenceFramework.allCases.map(\.rawValue)
        throw ValidationError("no framework '\(text)'\(Suggestions.hint(for: text, among: known)) (Porter writes reference scripts for \(known.joined(separator: ", ")))")
    }

    /// The writer `--to` names, or the one the output name implies (its extension, as the
    /// writers declare them); a usage error naming the candidates otherwise.
    static func resolveWriter(_ to: String?, output: String, registry: FormatRegistry) throws -> String {
        if let to {
            try checkWriter(to, registry: registry)
            return to
        }
        let matches = registry.writers(forOutputName: output)
        if matches.count == 1 { return matches[0].info.id }
        let listed = (matches.isEmpty ? registry.writers : matches).map { w in
            let exts = w.info.extensions.filter { $0.hasPrefix(".") }
            return exts.isEmpty ? w.info.id : "\(w.info.id) (\(exts.joined(separator: ", ")))"
        }
        let name = (output.split(separator: "/").last.map(String.init) ?? output) + (output.hasSuffix("/") ? "/" : "")
        let why = matches.isEmpty ? "the output name '\(name)' does not tell the format" : "the output name '\(name)' fits several writers"
        throw ValidationError("--to is required: \(why); one of \(listed.joined(separator: ", "))")
    }
}

/// Usage errors found before ArgumentParser parses: a misspelt subcommand (ArgumentParser would
/// call it an unexpected argument of `porter`), and the hint for an unknown format option key.
enum UnknownCommand {
    /// The message for a first argument that is no subcommand, or nil when it is one (or an option).
    static func message(_ first: String?, known: [String]) -> String? {
        guard let first, !first.hasPrefix("-"), !known.contains(first) else { return nil }
        return "unknown command '\(first)'\(Suggestions.hint(for: first, among: known)) (commands: \(known.filter { $0 != "help" }.joined(separator: ", ")); see `porter --help`)"
    }

    /// A format option error's text, with the nearest declared key for an unknown one.
    static func describe(_ error: FormatOptionError) -> String {
        let text = error.errorDescription ?? "\(error)"
        guard case let .unknownKey(_, _, key, known) = error else { return text }
        // A family (`metadata.<key>`) is offered with the key's own tail: metdata.license → metadata.license.
        let tail = key.firstIndex(of: ".").map { String(key[key.index(after: $0)...]) }
        let keys = known.map { usage -> String in
            let k = String(usage.split(separator: "=", maxSplits: 1).first ?? Substring(usage))
            guard k.hasSuffix(".<key>"), let tail else { return k }
            return String(k.dropLast("<key>".count)) + tail
        }
        return text + Suggestions.hint(for: key, among: keys)
    }
}
