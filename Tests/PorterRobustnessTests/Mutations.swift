import Foundation
import PorterCore
import PorterPipeline
import PorterTestSupport

/// One way of damaging a file's bytes; `description` is enough to reproduce it by hand.
enum Mutation: CustomStringConvertible, Sendable {
    /// Keep only the first `length` bytes.
    case truncate(length: Int)
    /// XOR the byte at `offset` with `mask`.
    case flip(offset: Int, mask: UInt8)
    /// Overwrite the byte at `offset` with `value`.
    case set(offset: Int, value: UInt8)
    /// Overwrite `count` bytes at `offset` with `pattern` (0xFF… for huge length fields, 0x7F FF… for huge signed ones).
    case huge(offset: Int, count: Int, pattern: [UInt8])
    /// Zero `count` bytes from `offset`.
    case zero(offset: Int, count: Int)

    var description: String {
        switch self {
        case .truncate(let n): "truncate to \(n) bytes"
        case .flip(let o, let m): "flip byte \(o) with 0x\(String(m, radix: 16))"
        case .set(let o, let v): "set byte \(o) to 0x\(String(v, radix: 16))"
        case .huge(let o, let c, let p): "write \(c) bytes \(p.prefix(2).map { String($0, radix: 16) }) at \(o)"
        case .zero(let o, let c): "zero \(c) bytes at \(o)"
        }
    }

    func apply(to data: Data) -> Data {
        var bytes = [UInt8](data)
        switch self {
        case .truncate(let n):
            bytes = Array(bytes.prefix(n))
        case .flip(let o, let m):
            if o < bytes.count { bytes[o] ^= m }
        case .set(let o, let v):
            if o < bytes.count { bytes[o] = v }
        case .huge(let o, let c, let p):
            for i in 0..<c where o + i < bytes.count { bytes[o + i] = p[i % p.count] }
        case .zero(let o, let c):
            for i in 0..<c where o + i < bytes.count { bytes[o + i] = 0 }
        }
        return Data(bytes)
    }

    /// A deterministic set of about `budget` mutations of a file of `size` bytes: truncations (every
    /// offset when the budget covers the file, evenly spaced otherwise, plus the interesting tails),
    /// byte flips and sets, huge length fields and zeroed ranges at seeded random offsets.
    static func plan(size: Int, budget: Int, seed: UInt64) -> [Mutation] {
        guard size > 0 else { return [] }
        var rng = SeededGenerator(seed: seed ^ UInt64(size))
        var out: [Mutation] = []
        let truncations = max(8, budget / 3)
        if size <= truncations {
            out += (0..<size).map { .truncate(length: $0) }
        } else {
            let step = Double(size) / Double(truncations)
            out += (0..<truncations).map { .truncate(length: Int(Double($0) * step)) }
            out += (1...min(8, size)).map { .truncate(length: size - $0) }
        }
        let rest = max(8, budget - out.count)
        for i in 0..<rest {
            let offset = Int(rng.next() % UInt64(size))
            switch i % 6 {
            case 0: out.append(.flip(offset: offset, mask: UInt8(1 << (rng.next() % 8))))
            case 1: out.append(.set(offset: offset, value: UInt8(truncatingIfNeeded: rng.next())))
            case 2: out.append(.huge(offset: offset, count: 8, pattern: [0xFF]))
            case 3: out.append(.huge(offset: offset, count: 4, pattern: [0xFF, 0xFF, 0xFF, 0x7F]))
            case 4: out.append(.zero(offset: offset, count: 1 + Int(rng.next() % 64)))
            default: out.append(.set(offset: offset, value: [0x00, 0xFF, 0x80, 0x7F][Int(rng.next() % 4)]))
            }
        }
        return out
    }
}

/// LevelDB-table checksums (TensorFlow `.index` files), so mutations can reach past the CRC check
/// into the block parser: each block is followed by a type byte and a masked CRC-32C of contents + type.
enum LevelDBChecksums {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }
    static func extend(_ crc: UInt32, _ byte: UInt8) -> UInt32 {
        let c = ~crc
        return ~(table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8))
    }
    static func mask(_ crc: UInt32) -> UInt32 { ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8 }
    static func le32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }

    /// The blocks of an intact table, as (first byte, type byte) ranges, found by scanning for
    /// positions where the running CRC matches the stored one. Blocks are laid out back to back.
    static func blocks(of bytes: [UInt8]) -> [ClosedRange<Int>] {
        var out: [ClosedRange<Int>] = []
        var start = 0
        let limit = bytes.count - 48  // the footer
        while start < limit {
            var crc: UInt32 = 0
            var found: Int?
            var t = start
            while t + 5 <= limit {
                crc = extend(crc, bytes[t])
                if mask(crc) == le32(bytes, t + 1) { found = t; break }
                t += 1
            }
            guard let end = found else { break }
            out.append(start...end)
            start = end + 5
        }
        return out
    }

    /// Rewrites the stored CRC of every block of `original` whose bytes `damaged` changed.
    static func repair(_ damaged: Data, original: Data, blocks: [ClosedRange<Int>]) -> Data {
        var d = [UInt8](damaged)
        let o = [UInt8](original)
        guard d.count == o.count else { return damaged }
        for block in blocks where block.contains(where: { d[$0] != o[$0] }) {
            var crc: UInt32 = 0
            for i in block { crc = extend(crc, d[i]) }
            let m = mask(crc)
            for k in 0..<4 { d[block.upperBound + 1 + k] = UInt8(truncatingIfNeeded: m >> (8 * k)) }
        }
        return Data(d)
    }
}

/// A fixture (file or folder) and which of its files to damage.
struct MutationTarget: CustomStringConvertible, Sendable {
    /// Short family label used to run one format at a time (`--filter` on the test name + argument).
    var family: String
    /// `fixtures/<source>`; a folder is copied whole.
    var source: String
    /// Files (relative to the copied fixture; "" when the fixture is one file) that get mutated, one at a time.
    var files: [String]
    /// What to open, relative to the copy ("" = the copy itself).
    var open: String = ""
    /// When set, the mutated file is a mapping passed to convert instead of a model.
    var isMapping = false
    /// Relative weight of this target in the mutation budget.
    var weight: Double = 1

    var description: String { "\(family):\(source)" }
}

/// How many mutations per mutated file: `PORTER_MUTATIONS` (default 40, about 15 s in a debug build) times the target's weight.
var mutationBudget: Int {
    let base = ProcessInfo.processInfo.environment["PORTER_MUTATIONS"].flatMap(Int.init) ?? 40
    return max(1, base)
}

/// What went wrong with one mutated input: the only acceptable outcomes are success or a thrown
/// error whose description is non-empty and names the file.
struct Finding: CustomStringConvertible {
    var target: String
    var file: String
    var mutation: Mutation
    var problem: String
    var description: String { "\(target) [\(file)] \(mutation): \(problem)" }
}

/// Runs mutations through the pipeline (inspect, every tensor's bytes, convert to safetensors).
struct MutationRunner {
    var pipeline = Pipeline()
    /// Written before each run so a crash (which kills the process) can be traced to its input.
    static let tracePath = ProcessInfo.processInfo.environment["PORTER_MUTATION_TRACE"]

    /// Copies the fixture into a scratch folder, applies each mutation to each listed file in turn,
    /// and returns what did not end in success or a well-described error.
    func run(_ target: MutationTarget, budget: Int, seed: UInt64 = 0x5EED) throws -> (runs: Int, findings: [Finding], outcomes: [String: Int]) {
        let scratch = try Fixtures.scratchDirectory("porter-mutate")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let src = target.source.hasPrefix("/") ? URL(fileURLWithPath: target.source) : Fixtures.url(target.source)
        let copy = scratch.appendingPathComponent(src.lastPathComponent)
        try FileManager.default.copyItem(at: src, to: copy)
        var findings: [Finding] = []
        var outcomes: [String: Int] = [:]
        var runs = 0
        for file in target.files {
            let fileURL = file.isEmpty ? copy : copy.appendingPathComponent(file)
            let original = try Data(contentsOf: fileURL)
            let plan = Mutation.plan(size: original.count, budget: Int(Double(budget) * target.weight), seed: seed)
            // TensorFlow .index files: every mutation twice, as is (stopped by the block CRC) and with the CRC repaired.
            let blocks = file.hasSuffix(".index") ? LevelDBChecksums.blocks(of: [UInt8](original)) : []
            let variants: [(Mutation, Bool)] = plan.flatMap { m in blocks.isEmpty ? [(m, false)] : [(m, false), (m, true)] }
            for (mutation, repaired) in variants {
                runs += 1
                var damaged = mutation.apply(to: original)
                if repaired { damaged = LevelDBChecksums.repair(damaged, original: original, blocks: blocks) }
                try damaged.write(to: fileURL)
                let label = "\(target) [\(file)] \(mutation)\(repaired ? " (block CRC repaired)" : "")"
                if let trace = Self.tracePath { try? label.write(toFile: trace, atomically: false, encoding: .utf8) }
                let started = Date()
                let (outcome, problem) = exercise(target, copy: copy, mutatedFile: fileURL, scratch: scratch)
                outcomes[outcome, default: 0] += 1
                if let problem {
                    findings.append(Finding(target: target.description, file: file, mutation: mutation, problem: problem + (repaired ? " (block CRC repaired)" : "")))
                }
                let seconds = Date().timeIntervalSince(started)
                if seconds > 10 {
                    findings.append(Finding(target: target.description, file: file, mutation: mutation, problem: "took \(Int(seconds)) s"))
                }
            }
            try original.write(to: fileURL)
        }
        return (runs, findings, outcomes)
    }

    /// The outcome ("ok" or the error's type and case) and nil when it is acceptable, else what is wrong.
    func exercise(_ target: MutationTarget, copy: URL, mutatedFile: URL, scratch: URL) -> (String, String?) {
        let open = target.open.isEmpty ? copy : copy.appendingPathComponent(target.open)
        let output = scratch.appendingPathComponent("out.safetensors")
        try? FileManager.default.removeItem(at: output)
        do {
            if target.isMapping {
                let source = Fixtures.url("safetensors/valid/small_model.safetensors")
                _ = try pipeline.convert(ConvertRequest(source: source, output: output, to: "safetensors", mapping: mutatedFile.path,
                                                        allowUnmapped: true, force: true))
                return ("ok", nil)
            }
            _ = try pipeline.inspect(open)
            let (_, model) = try pipeline.read(open)
            for entry in model.tensors { _ = try tensorDigest(entry.tensor) }
            _ = try pipeline.convert(ConvertRequest(source: open, output: output, to: "safetensors", force: true))
            return ("ok", nil)
        } catch {
            // Damage in one file can surface in a sibling (an index entry pointing past a data shard's end): any
            // file of the copied fixture counts. A mapping is named by its file stem ("mapping every-rule: ...").
            let names = [mutatedFile.lastPathComponent, open.lastPathComponent, copy.path]
            let kind = "\(type(of: error)).\(String(describing: error).prefix(while: { $0 != "(" }))"
            return (kind, Self.judge(error, names: target.isMapping ? names + [mutatedFile.deletingPathExtension().lastPathComponent] : names))
        }
    }

    /// nil when `error` has a non-empty description naming one of `names`.
    static func judge(_ error: any Error, names: [String]) -> String? {
        guard let described = error as? LocalizedError else { return "error \(type(of: error)) is not a LocalizedError: \(error)" }
        guard let text = described.errorDescription, !text.isEmpty else { return "empty errorDescription from \(type(of: error))" }
        if names.contains(where: { text.contains($0) }) { return nil }
        return "\(type(of: error)) description does not name the file: \(text)"
    }
}
