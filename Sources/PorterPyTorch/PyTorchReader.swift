import Foundation
import PorterCore
import PorterPickle

/// Reads PyTorch checkpoints: `torch.save` zips, TorchScript archives, legacy files,
/// and sharded `pytorch_model.bin.index.json` sets. Refuses files that name dangerous globals.
public struct PyTorchReader: ModelReader {
    public init() {}

    public var info: FormatInfo {
        FormatInfo(id: "pytorch", name: "PyTorch checkpoint", extensions: [".pt", ".pth", ".bin", ".ckpt", "pytorch_model.bin.index.json"],
                   summary: "torch.save zip, legacy and pre-1.0 tar files, TorchScript archives, sharded .bin indexes; read by an allow-list pickle VM")
    }

    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        if input.isDirectory { return .no }
        if input.url.lastPathComponent.hasSuffix(".bin.index.json") { return .certain }
        if input.headStarts(with: TorchCheckpoint.legacyMagic) { return .certain }
        if input.headStarts(with: [0x50, 0x4B, 0x03, 0x04]) {
            // The first local header's name: torch writes data.pkl or data/<n> first.
            guard input.head.count >= 30 else { return .no }
            let n = Int(input.head[26]) | Int(input.head[27]) << 8
            guard 30 + n <= input.head.count else { return .no }
            let name = String(decoding: input.head[30..<(30 + n)], as: UTF8.self)
            let leaf = name.split(separator: "/").dropFirst().joined(separator: "/")
            if name == "data.pkl" || leaf == "data.pkl" || leaf.hasPrefix("data/") || leaf == "version" || leaf.hasPrefix(".data/") { return .certain }
            return .no
        }
        if let first = TarArchive.firstName(input.head) {
            return ["sys_info", "pickle", "tensors", "storages"].contains(first) ? .certain : .no
        }
        if input.head.count >= 2, input.head[0] == 0x80, (2...5).contains(input.head[1]) { return .likely }
        return .no
    }

    public var options: [FormatOption] {
        [FormatOption("state-dict", .text("key.path"),
                      help: "where the state dict is, e.g. model.state_dict (default: found by the checkpoint layout rules; '.' = the whole checkpoint)"),
         FormatOption("config", .text("file"),
                      help: "a transformers config.json for the state dict (e.g. the one beside pytorch_model.bin): Porter builds the graph from its architecture descriptor, for verify, run and reference-script --framework torch")]
    }

    public func read(_ url: URL, options: ReadOptions) throws -> NeutralModel {
        var model: NeutralModel
        if url.lastPathComponent.hasSuffix(".index.json") {
            model = try PyTorchIndex.read(url)
        } else {
            let path = options.extra["state-dict"].map { $0 == "." || $0.isEmpty ? [] : $0.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
            model = try TorchCheckpoint.open(url).neutralModel(stateDictPath: path)
        }
        if let config = options.extra["config"] {
            model.config = try Self.config(config, for: url)
            model.notes.append("config from \(config) (--read-option config)")
        }
        return model
    }

    /// The JSON object of `--read-option config=FILE` (a state dict carries no config).
    static func config(_ file: String, for url: URL) throws -> JSONValue {
        let bytes: Data
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw PyTorchError.badConfig(path: url.path, config: file, reason: "cannot read it (\((error as NSError).localizedDescription))")
        }
        guard bytes.count <= 16 << 20 else {
            throw PyTorchError.badConfig(path: url.path, config: file, reason: "\(bytes.count) bytes, more than a config's 16 MiB")
        }
        let value: JSONValue
        do { value = try JSONValue.parse(bytes) } catch {
            throw PyTorchError.badConfig(path: url.path, config: file, reason: "not JSON: \(error.localizedDescription)")
        }
        guard value.objectValue != nil else {
            throw PyTorchError.badConfig(path: url.path, config: file, reason: "not a JSON object")
        }
        return value
    }
}

/// Sharded checkpoints: `{"metadata": …, "weight_map": {tensor: shard file}}`.
public enum PyTorchIndex {
    public static func read(_ url: URL) throws -> NeutralModel {
        let path = url.path
        let index: ShardIndex
        do { index = try ShardIndex.read(url) } catch let e as ShardIndex.Invalid {
            throw PyTorchError.badIndex(path: path, reason: e.reason)
        }
        let map = index.weightMap
        let folder = url.deletingLastPathComponent()
        var model = NeutralModel(sourceFormat: "pytorch", sourceFiles: [path])
        if let meta = index.metadata { model.config = .object(["index_metadata": meta]) }
        for shard in index.shards {
            let shardURL = folder.appendingPathComponent(shard)
            guard FileManager.default.fileExists(atPath: shardURL.path) else { throw PyTorchError.missingShard(path: path, shard: shard) }
            let part = try TorchCheckpoint.open(shardURL).neutralModel()
            model.sourceFiles.append(shardURL.path)
            for e in part.tensors {
                guard map[e.name] == shard else {
                    model.notes.append("\(shard) holds \(e.name), which the index does not map to it; read anyway")
                    if model.tensors[e.name] != nil { throw PyTorchError.duplicateName(path: path, name: e.name) }
                    try model.tensors.add(e)
                    continue
                }
                do { try model.tensors.add(e) } catch { throw PyTorchError.duplicateName(path: path, name: e.name) }
            }
            model.dropped += part.dropped
            model.notes += part.notes.map { "\(shard): \($0)" }
        }
        for name in map.keys.sorted() where model.tensors[name] == nil {
            throw PyTorchError.badIndex(path: path, reason: "tensor \(name) is mapped to \(map[name] ?? "?") but that shard does not hold it")
        }
        return model
    }
}

extension PickleScanner {
    /// Scans a torch zip (every `.pkl` entry), a legacy torch file (its pickles), a pre-1.0
    /// torch tar (every pickle of its members) or a raw
    /// pickle file, and returns the inventory and verdict. Nothing is unpickled.
    public static func scan(url: URL) throws -> ScanReport {
        let file = try OpenFile(path: url.path)
        let head = try file.read(offset: 0, count: min(TarArchive.blockSize, file.size))
        // The same order as torch.load: a zip when it starts with a local header; otherwise
        // Python's tarfile is tried first, and only then are the bytes unpickled.
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            let zip = try ZipArchive(file: file)
            let hasCode = zip.entries.contains { ZipArchive.folded($0.name).contains("/code/") || ZipArchive.folded($0.name).hasPrefix("code/") }
            // torch.load hands an archive to torch.jit.load exactly when it has a record named
            // constants.pkl (`_is_torchscript_zip`, case-sensitive), so only then are data.pkl's
            // `__torch__` globals TorchScript classes rather than Python imports.
            let isScript = zip.torchPrefix.map { p in zip.entries.contains { $0.name == p + "constants.pkl" } } ?? false
            var report = ScanReport(path: url.path, format: hasCode ? "torchscript" : "torch-zip")
            for (a, b) in zip.collisions {
                report.add(ScanFinding(verdict: .dangerous, reason: a == b
                    ? "ambiguous archive: two entries are named \(a); torch reads whichever its zip reader's sort order finds"
                    : "ambiguous archive: torch's zip reader ignores case, so it may read \(b), not \(a)",
                    pickle: b, offset: 0))
            }
            if zip.torchPrefix == nil {
                report.notes.append("the first entry is in no folder: torch refuses to load this archive")
            }
            for e in zip.entries {
                let name = ZipArchive.folded(e.name)
                guard name.hasSuffix(".pkl") || name.hasSuffix(".debug_pkl") else { continue }
                guard e.size <= TorchCheckpoint.maxPickleBytes else {
                    report.add(ScanFinding(verdict: .review, reason: "pickle entry larger than 1 GiB not scanned", pickle: e.name, offset: e.localHeaderOffset))
                    continue
                }
                let bytes = try zip.read(e)
                PickleScanner.scanPickle(bytes, name: e.name, into: &report, torchScriptClasses: isScript)
            }
            let scriptClasses = report.globals.filter { $0.classification == "torchscript" }.count
            if scriptClasses > 0 {
                report.notes.append("\(scriptClasses) TorchScript class global(s) (__torch__.…): torch.jit.load compiles them from code/, Porter does not")
            }
            if report.pickles.isEmpty {
                report.add(ScanFinding(verdict: .review, reason: "zip archive without pickle entries", pickle: "", offset: 0))
            }
            if hasCode { report.notes.append("TorchScript code in code/ is not run by Porter (torch.jit.load would compile it)") }
            return report
        }
        let ranOffEnd: (ScanReport) -> Bool = { r in
            r.findings.contains { $0.reason.hasPrefix("malformed pickle: ends without STOP") || $0.reason.hasPrefix("malformed pickle: truncated") }
        }
        if TarArchive.looksLikeTar(head) { return try scanLegacyTar(file) }
        if head.starts(with: TorchCheckpoint.legacyMagic) {
            return try TorchCheckpoint.withPicklePrefix(file, {
                PickleScanner.scanPickleSequence($0, path: url.path, format: "torch-legacy", maxCount: 5)
            }, needsMore: ranOffEnd)
        }
        // torch.load unpickles any other file: its first pickle runs whatever its protocol,
        // and when that is the legacy magic number four more follow.
        var report = try TorchCheckpoint.withPicklePrefix(file, { PickleScanner.scanPickleSequence($0, path: url.path) }, needsMore: ranOffEnd)
        if head.first != 0x80 {
            report.add(ScanFinding(verdict: .review, reason: "not a recognised pickle, torch zip or legacy torch file", pickle: "", offset: 0))
        }
        return report
    }
}

/// What `porter inspect` / `convert` call before reading a PyTorch input.
public enum PyTorchSafety {
    /// Throws `PyTorchError.dangerousFile` listing the reasons when the file's verdict is
    /// dangerous. (The reader refuses dangerous globals on its own too.)
    public static func refuseIfDangerous(_ url: URL) throws {
        if url.lastPathComponent.hasSuffix(".json") { return }
        let report = try PickleScanner.scan(url: url)
        if report.verdict == .dangerous {
            let reasons = report.findings.filter { $0.verdict == .dangerous }.map { "\($0.reason) at byte \($0.offset) of \($0.pickle)" }
            throw PyTorchError.dangerousFile(path: url.path, findings: reasons)
        }
    }
}

/// `porter scan` of every torch container (and of any file no reader claims, which
/// `torch.load` would unpickle): `PickleScanner.scan(url:)`.
extension PyTorchReader: PickleScanning {
    public func scanPickles(of url: URL) throws -> ScanReport { try PickleScanner.scan(url: url) }
}
