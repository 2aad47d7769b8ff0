import Foundation
import PorterCore
import PorterMapping
import PorterVerifier

/// Target element type for `--dtype`.
///
/// `q8_0`, `q4_0`, `q4_1` store float matrices as blocks (writers that are
/// `BlockQuantizedWriting`, i.e. GGUF); other tensors become f32.
public enum DTypeChoice: String, Sendable, CaseIterable {
    case keep, f32, f16, bf16, q8_0, q4_0, q4_1

    var dtype: DType? {
        switch self {
        case .keep: return nil
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0, .q4_0, .q4_1: return nil
        }
    }

    /// The block type of `q8_0`, `q4_0`, `q4_1`.
    public var blockQuantization: BlockQuantization? {
        switch self {
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        default: return nil
        }
    }
}

/// Everything `porter convert` needs to know.
public struct ConvertRequest: Sendable {
    public var source: URL
    public var output: URL
    /// Writer id (`safetensors`, `porter`, `pytorch`, `hf`, `keras-h5`).
    public var to: String
    /// Reader id, when detection should be skipped.
    public var from: String?
    /// Mapping name or file.
    public var mapping: String?
    public var dtype: DTypeChoice
    /// Shard size (`--max-shard-size`); also accepted as the write option `max-shard-size`.
    /// Only writers that declare `FormatOption.maxShardSize` take it.
    public var maxShardSize: Int?
    public var allowUnmapped: Bool
    /// Write a model with no tensors instead of failing (`--allow-empty`).
    public var allowEmpty: Bool = false
    /// Read, map and cast, check the writer would take the model, and stop before anything
    /// is written (`--dry-run`): no file or folder is created, no leftover removed.
    public var dryRun: Bool = false
    public var force: Bool
    /// fsync the output before it is moved into place (see `AtomicOutput`).
    public var syncToDisk: Bool
    /// Reader settings (`--read-option`), checked against the reader's declared options.
    public var readOptions: [String: String]
    /// Writer settings (`--write-option`), checked against the writer's declared options.
    public var writeOptions: [String: String]
    public var progress: any ProgressSink
    /// The command line that asked for the conversion, recorded in generated model cards.
    public var command: String?

    public init(source: URL, output: URL, to: String, from: String? = nil, mapping: String? = nil, dtype: DTypeChoice = .keep,
                maxShardSize: Int? = nil, allowUnmapped: Bool = false, force: Bool = false, syncToDisk: Bool = false,
                readOptions: [String: String] = [:], writeOptions: [String: String] = [:], progress: any ProgressSink = SilentProgress(),
                command: String? = nil) {
        self.command = command
        self.syncToDisk = syncToDisk
        self.source = source
        self.output = output
        self.to = to
        self.from = from
        self.mapping = mapping
        self.dtype = dtype
        self.maxShardSize = maxShardSize
        self.allowUnmapped = allowUnmapped
        self.force = force
        self.readOptions = readOptions
        self.writeOptions = writeOptions
        self.progress = progress
    }
}

/// What a conversion did.
public struct ConvertResult: Sendable {
    public var source: URL
    public var output: URL
    public var reader: FormatInfo
    public var writer: FormatInfo
    /// The model as read.
    public var sourceModel: NeutralModel
    /// The model as written (after mapping and casts).
    public var convertedModel: NeutralModel
    public var accounting: MappingAccounting?
    /// Tensor name → values that overflowed to infinity in a cast.
    public var overflows: [String: Int]
    /// Bytes on disk of the output (file, or all files of the folder).
    public var outputBytes: Int
    /// Bytes on disk of the files the reader read.
    public var sourceBytes: Int
    /// The cast requested, and whether unmapped tensors were allowed (for verification).
    public var dtype: DTypeChoice
    public var allowUnmapped: Bool
    public var command: String?
    /// Whether the output was fsynced (and later rewrites of it, like the model card, are).
    public var syncToDisk: Bool = false
    /// Temporary outputs of the same target left by killed runs: removed, or kept (locked).
    public var staleTemporaries = StaleTemporaries()
    /// True for `--dry-run`: nothing was written; `outputBytes` is then the tensor data the
    /// writer would store (headers, config and assets not counted).
    public var dryRun = false
    /// What the writer produces (a file, or a folder's entries), as it declared it.
    public var layout: OutputLayout = .file(producer: "")

    /// One paragraph for a terminal; paths as the reports and `--json` show them (`DisplayPath`).
    public func summary() -> String {
        let shown = { (url: URL) in DisplayPath.relative(url.path) }
        var lines: [String] = []
        let tensors = convertedModel.tensors
        if dryRun {
            lines.append("dry run: would convert \(shown(source)) (\(reader.name)) → \(shown(output)) (\(writer.name)); nothing written")
            lines.append("  \(tensors.count) tensors, \(InspectReport.grouped(tensors.parameterCount)) parameters, \(ByteCountText.format(outputBytes)) of tensor data to write")
        } else {
            lines.append("converted \(shown(source)) (\(reader.name)) → \(shown(output)) (\(writer.name))")
            lines.append("  \(tensors.count) tensors, \(InspectReport.grouped(tensors.parameterCount)) parameters, \(ByteCountText.format(outputBytes)) written")
        }
        if sourceBytes > outputBytes && !dryRun {
            lines.append("  \(ByteCountText.format(sourceBytes)) of source files, \(ByteCountText.format(sourceBytes - outputBytes)) saved")
        }
        if let accounting {
            lines.append("  mapping \(accounting.mapping): \(accounting.produced.count) produced, \(accounting.dropped.count) dropped, \(accounting.unmapped.count) unmapped")
        }
        let dropped = convertedModel.dropped
        if !dropped.isEmpty {
            let bytes = dropped.reduce(0) { $0 + $1.byteCount }
            lines.append("  dropped \(dropped.count) tensor(s), \(ByteCountText.format(bytes)):")
            var byReason: [String: (Int, Int)] = [:]
            for d in dropped { byReason[d.reason, default: (0, 0)].0 += 1; byReason[d.reason, default: (0, 0)].1 += d.byteCount }
            for (reason, (n, b)) in byReason.sorted(by: { $0.key < $1.key }) {
                lines.append("    \(n) × \(reason) (\(ByteCountText.format(b)))")
            }
        }
        for (name, n) in overflows.sorted(by: { $0.key < $1.key }) {
            lines.append("  warning: \(name): \(n) value(s) overflowed to infinity in the cast")
        }
        for note in convertedModel.notes { lines.append("  note: \(note)") }
        for r in staleTemporaries.removed {
            lines.append("  removed \(DisplayPath.relative(r.path)) (\(ByteCountText.format(r.bytes))): a temporary output left by an interrupted run")
        }
        for k in staleTemporaries.kept {
            lines.append("  kept \(k): another process is writing it (it holds the lock)")
        }
        for f in staleTemporaries.failed {
            lines.append("  warning: could not remove the leftover \(f.path): \(f.reason)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Porter's operations as library calls: the CLI is a thin layer over these.
public struct Pipeline: Sendable {
    public var registry: FormatRegistry
    public var mappingSearchPaths: [URL]

    public init(registry: FormatRegistry = .porterDefault, mappingSearchPaths: [URL] = MappingLocations.searchPaths) {
        self.registry = registry
        self.mappingSearchPaths = mappingSearchPaths
    }

    /// Reads a model with the detected (or named) reader; settings it does not declare
    /// are refused (`FormatOptionError`) before anything is read.
    public func read(_ url: URL, format: String? = nil, options: ReadOptions = ReadOptions()) throws -> (FormatInfo, NeutralModel) {
        let reader = try registry.reader(for: url, format: format)
        try FormatOption.check(options.extra, against: reader.options, format: reader.info.id, direction: .read)
        return (reader.info, try reader.read(url, options: options))
    }

    /// The writer's options for `request`, checked against what the writer declares:
    /// `--max-shard-size` counts as the `max-shard-size` option.
    static func writeSettings(_ request: ConvertRequest, writer: any ModelWriter) throws -> (maxShardSize: Int?, extra: [String: String]) {
        var settings = request.writeOptions
        if let size = request.maxShardSize, settings[FormatOption.maxShardSize.key] == nil {
            settings[FormatOption.maxShardSize.key] = String(size)
        }
        try FormatOption.check(settings, against: writer.options, format: writer.info.id, direction: .write)
        let size = request.maxShardSize ?? settings[FormatOption.maxShardSize.key].flatMap(FormatOption.parseSize)
        var extra = settings
        extra[FormatOption.maxShardSize.key] = nil
        return (size, extra)
    }

    public func inspect(_ url: URL, format: String? = nil, options: ReadOptions = ReadOptions()) throws -> InspectReport {
        let (info, model) = try read(url, format: format, options: options)
        return InspectReport(path: url.path, reader: info, model: model)
    }

    /// Reads, maps, casts and writes; output appears atomically or not at all.
    public func convert(_ request: ConvertRequest) throws -> ConvertResult {
        var request = request
        // `-o DIR/` or `-o existing-folder`: a single-file output goes into it under the
        // writer's default name; a folder format takes DIR as the model folder (--force rules).
        var isDir: ObjCBool = false
        let intoFolder = request.output.hasDirectoryPath
            || (FileManager.default.fileExists(atPath: request.output.path, isDirectory: &isDir) && isDir.boolValue)
        // Fail fast on what can be checked before reading anything.
        let writer = try registry.writer(request.to)
        if let q = request.dtype.blockQuantization {
            guard let blocks = writer as? any BlockQuantizedWriting, blocks.writableBlockTypes.contains(q) else {
                throw PipelineError.blockTypeNotWritable(dtype: request.dtype.rawValue, writer: writer.info.id)
            }
        }
        let (maxShardSize, writeExtra) = try Self.writeSettings(request, writer: writer)
        if !intoFolder && !request.force && FileManager.default.fileExists(atPath: request.output.path) {
            throw CoreError.outputExists(path: request.output.path)
        }
        var mapping = try request.mapping.map { try Mapping.resolve($0, searchPaths: mappingSearchPaths) }

        let readOptions = ReadOptions(progress: CountingProgress(base: request.progress, unit: .items), extra: request.readOptions)
        // Readers index the file (tensor bytes are read later, while writing): a phase of no known size.
        request.progress.begin("reading \(request.source.lastPathComponent)", totalUnits: 0, unit: .items)
        let readResult = Result { try read(request.source, format: request.from, options: readOptions) }
        request.progress.end()
        var (readerInfo, source) = try readResult.get()
        // The reader may translate its model for another format (GGUF → hf: config.json and
        // transformers' names), and the writer may know the mapping the model needs (GGUF:
        // llama.cpp's names, from the descriptor). Neither overrides a given --mapping.
        if mapping == nil, let reader = try? registry.reader(for: request.source, format: request.from),
           let prepared = try (reader as? any ConversionPreparing)?.prepared(source, forWriter: writer.info.id) {
            source = prepared.model
            mapping = try prepared.mapping.map { try Mapping.resolve($0, searchPaths: mappingSearchPaths) }
        }
        if mapping == nil, let name = (writer as? any DefaultMappingChoosing)?.defaultMapping(for: source) {
            mapping = try Mapping.resolve(name, searchPaths: mappingSearchPaths)
        }
        let tally = OverflowTally()
        var model = source
        var accounting: MappingAccounting?
        if let mapping {
            (model, accounting) = try MappingEngine(mapping).apply(to: model, allowUnmapped: request.allowUnmapped, tally: tally)
        }
        model = try Self.applyDType(model, request.dtype, tally: tally, writer: writer)
        // Fail closed: a conversion that yields no tensor converted nothing.
        if model.tensors.names.isEmpty && !request.allowEmpty {
            throw PipelineError.nothingToConvert(path: request.source.path, dropped: model.dropped.count, notes: model.notes)
        }
        model = ModelCard.refreshed(model, command: request.command, verification: [], registry: registry)
        // --force replaces only what this writer writes; checked before anything is touched.
        var createdFolder: URL?
        if intoFolder {
            if writer.producesDirectory(for: model, options: WriteOptions(maxShardSize: maxShardSize, extra: writeExtra)) {
                request.output = URL(fileURLWithPath: request.output.path)
            } else {
                let folder = URL(fileURLWithPath: request.output.path, isDirectory: true)
                if !FileManager.default.fileExists(atPath: folder.path) { createdFolder = folder }
                request.output = folder.appendingPathComponent(writer.defaultFileName)
            }
            if !request.force && FileManager.default.fileExists(atPath: request.output.path) {
                throw CoreError.outputExists(path: request.output.path)
            }
        }
        let layout = writer.outputLayout(for: model, options: WriteOptions(maxShardSize: maxShardSize, extra: writeExtra))
        try writer.check(model, options: WriteOptions(maxShardSize: maxShardSize, extra: writeExtra))
        model.notes += try writer.notes(for: model, options: WriteOptions(maxShardSize: maxShardSize, extra: writeExtra))
        if request.force { try layout.checkReplaceable(request.output) }
        if request.dryRun {
            return ConvertResult(source: request.source, output: request.output, reader: readerInfo, writer: writer.info,
                                 sourceModel: source, convertedModel: model, accounting: accounting, overflows: tally.overflows,
                                 outputBytes: Self.plannedBytes(model), sourceBytes: Self.sourceBytes(source, request.source),
                                 dtype: request.dtype, allowUnmapped: request.allowUnmapped, command: request.command,
                                 syncToDisk: request.syncToDisk, dryRun: true, layout: layout)
        }
        if let createdFolder {
            do { try FileManager.default.createDirectory(at: createdFolder, withIntermediateDirectories: false) } catch {
                throw CoreError.cannotWrite(path: createdFolder.path, reason: "cannot create the output folder: \(error.localizedDescription)")
            }
        }
        let stale = AtomicOutput.removeStaleTemporaries(of: request.output)
        do {
            try AtomicOutput.write(to: request.output, force: request.force, layout: layout, syncToDisk: request.syncToDisk) { temp in
                // Writers name the path they are given; show users the real output name.
                let progress = RenamingProgress(request.progress, from: temp.lastPathComponent, to: request.output.lastPathComponent)
                let writeOptions = WriteOptions(progress: progress, maxShardSize: maxShardSize, extra: writeExtra)
                try writer.write(model, to: temp, options: writeOptions)
            }
        } catch {
            // Nothing left on disk: the folder made for this output goes too.
            if let createdFolder { try? FileManager.default.removeItem(at: createdFolder) }
            throw error
        }
        return ConvertResult(source: request.source, output: request.output, reader: readerInfo, writer: writer.info,
                             sourceModel: source, convertedModel: model, accounting: accounting,
                             overflows: tally.overflows, outputBytes: Self.diskBytes(request.output), sourceBytes: Self.sourceBytes(source, request.source),
                             dtype: request.dtype, allowUnmapped: request.allowUnmapped, command: request.command,
                             syncToDisk: request.syncToDisk, staleTemporaries: stale, layout: layout)
    }

    /// Bytes on disk of the files a model was read from.
    static func sourceBytes(_ model: NeutralModel, _ url: URL) -> Int {
        model.sourceFiles.isEmpty ? diskBytes(url) : model.sourceFiles.reduce(0) { $0 + diskBytes(URL(fileURLWithPath: $1)) }
    }

    /// Tensor data a writer stores for `model`: aliases once, block-quantized tensors at their block size.
    public static func plannedBytes(_ model: NeutralModel) -> Int {
        let aliases = model.tensors.aliases()
        return model.tensors.reduce(0) { sum, entry in
            aliases[entry.name] != nil ? sum : sum + storedBytes(entry)
        }
    }

    /// Bytes one tensor takes in the output: its own, or its blocks' when it is to be block-quantized.
    public static func storedBytes(_ entry: TensorEntry) -> Int {
        for step in entry.provenance.transforms {
            if case let .quantize(to: name) = step, let q = BlockQuantization(rawValue: name), q.blockSize > 0 {
                return entry.tensor.elementCount / q.blockSize * q.bytesPerBlock
            }
        }
        return entry.tensor.byteCount
    }

    /// `--dtype`: a cast of every float tensor, or the block quantization of float matrices.
    /// `writer` is the target's writer: tensors it keeps in f32 (`Float32Keeping`) are cast to
    /// f32 rather than to a 16-bit `--dtype`.
    public static func applyDType(_ model: NeutralModel, _ choice: DTypeChoice, tally: OverflowTally,
                                  writer: (any ModelWriter)? = nil) throws -> NeutralModel {
        if let target = choice.dtype {
            let keeper = writer as? any Float32Keeping
            return try cast(model, to: target, tally: tally, keepingFloat32: keeper.map { k in { k.keepsFloat32(name: $0, shape: $1) } })
        }
        if let q = choice.blockQuantization { return try quantize(model, to: q, tally: tally) }
        return model
    }

    /// Marks float tensors of rank ≥ 2 whose last dimension is a whole number of `type`'s
    /// blocks with `.quantize(to:)` (cast to f32 first when they are not), as llama.cpp
    /// quantizes weight matrices; other float tensors are cast to f32. Values stay as they
    /// are: the writer quantizes while it streams.
    public static func quantize(_ model: NeutralModel, to type: BlockQuantization, tally: OverflowTally) throws -> NeutralModel {
        var out = try cast(model, to: .f32, tally: tally)
        var store = TensorStore()
        for var entry in out.tensors {
            let t = entry.tensor
            if t.dtype == .f32, t.shape.rank >= 2, let last = t.shape.dims.last, last > 0, last % type.blockSize == 0 {
                entry.provenance.transforms.append(.quantize(to: type.rawValue))
            }
            try store.add(entry)
        }
        out.tensors = store
        return out
    }

    /// Casts every float tensor to `target`, keeping aliases aliased; other dtypes stay.
    public static func cast(_ model: NeutralModel, to requested: DType, tally: OverflowTally,
                            keepingFloat32: ((String, Shape) -> Bool)? = nil) throws -> NeutralModel {
        var out = model
        var store = TensorStore()
        let aliases = model.tensors.aliases()
        var castByName: [String: TensorRef] = [:]
        for var entry in model.tensors {
            let target = keepingFloat32?(entry.name, entry.tensor.shape) == true ? DType.f32 : requested
            if entry.tensor.dtype.isCastableFloat && entry.tensor.dtype != target {
                let from = entry.tensor.dtype
                if let original = aliases[entry.name], let shared = castByName[original] {
                    entry.tensor = shared
                } else {
                    entry.tensor = try entry.tensor.cast(to: target, name: entry.name, tally: tally)
                }
                castByName[entry.name] = entry.tensor
                entry.provenance.transforms.append(.cast(from: from, to: target))
            }
            try store.add(entry)
        }
        out.tensors = store
        return out
    }

    static func diskBytes(_ url: URL) -> Int {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else { return 0 }
        if !isDir.boolValue { return (try? fm.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0 }
        var total = 0
        if let e = fm.enumerator(atPath: url.path) {
            for case let p as String in e {
                total += (try? fm.attributesOfItem(atPath: url.appendingPathComponent(p).path)[.size] as? Int) ?? 0
            }
        }
        return total
    }
}

/// Failures of the pipeline itself (not of one format).
public enum PipelineError: Error, LocalizedError, Equatable {
    case nothingToConvert(path: String, dropped: Int, notes: [String])
    /// `porter scan` found no reader that scans pickles (a registry built without one).
    case noScanner(path: String)
    /// `porter scan` was given a folder no reader claims; `entries` are some of its names.
    case notAModelFolder(path: String, entries: [String], total: Int)
    /// `porter scan` was given a model folder whose format has no folder scan (fairseq, SavedModel).
    case folderNotScanned(path: String, format: String)
    /// `--dtype q8_0|q4_0|q4_1` for a writer that does not store that block type.
    case blockTypeNotWritable(dtype: String, writer: String)

    public var errorDescription: String? {
        switch self {
        case let .nothingToConvert(path, dropped, notes):
            let why = dropped > 0 ? "\(dropped) tensor(s) were dropped (see `porter inspect`)" : "the file holds no tensor Porter could find"
            let hint = notes.first.map { "; reader notes: \($0)" } ?? ""
            return "\(path): nothing to convert: \(why)\(hint). Pass --allow-empty to write a model without tensors anyway"
        case let .notAModelFolder(path, entries, total):
            let listing = total == 0 ? "it is empty" : "it holds \(entries.joined(separator: ", "))\(total > entries.count ? " and \(total - entries.count) more" : "")"
            return "\(path): a folder that is no model folder Porter knows: \(listing); scan a model file in it, or a model folder of a format Porter reads (see `porter formats`)"
        case let .folderNotScanned(path, format):
            return "\(path): a \(format) folder, which scan does not take as a whole; scan the model files in it one by one"
        case let .noScanner(path):
            return "\(path): cannot scan: this build of Porter has no reader that scans pickles, and the file is in no format with its own checks"
        case let .blockTypeNotWritable(dtype, writer):
            return "--dtype \(dtype) stores blocks of quantized values, which the \(writer) writer cannot; use --to gguf, or --dtype f32|f16|bf16"
        }
    }
}
