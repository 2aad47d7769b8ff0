import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterSafetensors

/// What Python's safetensors read, from fixtures/safetensors/expected.json.
enum Expected {
    static let json: JSONValue = (try? Fixtures.json("safetensors/expected.json")) ?? .null
    static var validFiles: [String] { (json["valid"]?.objectValue?.keys).map { $0.sorted() } ?? [] }
    static var malformedFiles: [String] { (json["malformed"]?.objectValue?.keys).map { $0.sorted() } ?? [] }

    /// Checks `model` (or a slice of it) against one file's expectation.
    static func check(_ model: NeutralModel, against file: JSONValue, names: [String]? = nil) throws {
        let tensors = file["tensors"]?.arrayValue ?? []
        #expect(!tensors.isEmpty)
        let wanted = names ?? model.tensors.names
        #expect(wanted == tensors.compactMap { $0["name"]?.stringValue })
        for t in tensors {
            let name = try #require(t["name"]?.stringValue)
            let entry = try #require(model.tensors[name], "missing tensor \(name)")
            #expect(entry.tensor.dtype == DType(safetensorsName: t["dtype"]?.stringValue ?? ""), "dtype of \(name)")
            #expect(entry.tensor.shape.dims == (t["shape"]?.arrayValue ?? []).compactMap(\.intValue), "shape of \(name)")
            #expect(try tensorDigest(entry.tensor) == t["sha256"]?.stringValue, "bytes of \(name)")
        }
    }

    static func metadata(_ file: JSONValue) -> [String: String] {
        (file["metadata"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
    }
}

@Suite struct SafetensorsReaderTests {
    let reader = SafetensorsReader()

    @Test func fixturesArePresent() {
        #expect(Expected.validFiles.count >= 20)
        #expect(Expected.malformedFiles.count >= 15)
    }

    @Test(arguments: Expected.validFiles)
    func validFileMatchesPython(file: String) throws {
        let expected = try #require(Expected.json["valid"]?[file])
        let url = Fixtures.url("safetensors/valid/\(file)")
        let model = try reader.read(url, options: ReadOptions())
        try Expected.check(model, against: expected)
        #expect(model.metadata == Expected.metadata(expected))
        #expect(model.sourceFormat == "safetensors")
        #expect(reader.probe(try ProbeInput.load(url)) == .certain)
    }

    @Test func tensorsAreLazyRangesOfOneSharedFile() throws {
        let model = try reader.read(Fixtures.url("safetensors/valid/small_model.safetensors"), options: ReadOptions())
        var files: [ObjectIdentifier] = []
        var storages = Set<ObjectIdentifier>()
        for e in model.tensors {
            guard case let .file(file, _) = e.tensor.storage.backing else {
                Issue.record("\(e.name) is not file-backed")
                continue
            }
            files.append(ObjectIdentifier(file))
            storages.insert(ObjectIdentifier(e.tensor.storage))
        }
        #expect(Set(files).count == 1, "every tensor shares one OpenFile")
        #expect(storages.count == model.tensors.count, "each tensor has its own storage, so none look like aliases")
        #expect(model.tensors.aliases().isEmpty)
    }

    @Test(arguments: Expected.malformedFiles)
    func malformedFileThrowsTypedError(file: String) throws {
        let expectedCase = try #require(Expected.json["malformed"]?[file]?["error"]?.stringValue)
        let url = Fixtures.url("safetensors/malformed/\(file)")
        do {
            let model = try reader.read(url, options: ReadOptions())
            Issue.record("\(file) was accepted with \(model.tensors.count) tensors; expected \(expectedCase)")
        } catch let error as SafetensorsError {
            #expect(error.caseName == expectedCase, "\(file): \(error)")
            let message = error.localizedDescription
            #expect(message.contains(file), "message names the file: \(message)")
        }
        // Whatever the bytes, the probe never crashes and a .safetensors name is at least likely.
        #expect(reader.probe(try ProbeInput.load(url)) >= .likely)
    }

    @Test func errorMessagesNameTheTensorOrOffset() throws {
        func message(_ file: String) -> String {
            do { _ = try reader.read(Fixtures.url("safetensors/malformed/\(file)"), options: ReadOptions()); return "" } catch {
                return error.localizedDescription
            }
        }
        #expect(message("gapped_offsets.safetensors").contains("'b'"))
        #expect(message("overlapping_offsets.safetensors").contains("inside 'a'"))
        #expect(message("header_over_cap.safetensors").contains("200000000"))
        #expect(message("not_utf8.safetensors").contains("byte 10"))
    }

    @Test func shardedFolderReadsThroughItsIndex() throws {
        let expected = try #require(Expected.json["sharded"]?["sharded"])
        let folder = Fixtures.url("safetensors/sharded")
        #expect(reader.probe(try ProbeInput.load(folder)) == .certain)
        let viaFolder = try reader.read(folder, options: ReadOptions())
        let viaIndex = try reader.read(folder.appendingPathComponent("model.safetensors.index.json"), options: ReadOptions())
        #expect(viaFolder.tensors.names == viaIndex.tensors.names)
        let weightMap = try #require(expected["index"]?["weight_map"]?.objectValue)
        #expect(Set(viaFolder.tensors.names) == Set(weightMap.keys))
        for (shard, info) in try #require(expected["shards"]?.objectValue) {
            let names = (info["tensors"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            try Expected.check(viaFolder, against: info, names: names)
            for n in names { #expect(weightMap[n]?.stringValue == shard) }
        }
        #expect(viaFolder.metadata == ["format": "pt"])
    }

    @Test func missingShardIsAClearError() throws {
        let folder = Fixtures.url("safetensors/sharded_missing_shard")
        let missing = try #require(Expected.json["sharded"]?["sharded_missing_shard"]?["missing"]?.stringValue)
        let error = #expect(throws: SafetensorsError.self) { try reader.read(folder, options: ReadOptions()) }
        #expect(error?.caseName == "missingShard")
        #expect(error?.localizedDescription.contains(missing) == true)
        #expect(error?.localizedDescription.contains("model.safetensors.index.json") == true)
    }

    /// Copies the real sharded fixture and edits its index with `edit`.
    func shardedCopy(_ edit: (inout [String: JSONValue]) -> Void) throws -> URL {
        let dir = try Fixtures.scratchDirectory("st-index")
        let src = Fixtures.url("safetensors/sharded")
        for name in try FileManager.default.contentsOfDirectory(atPath: src.path) {
            try FileManager.default.copyItem(at: src.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let indexURL = dir.appendingPathComponent("model.safetensors.index.json")
        var index = try #require(try JSONValue.parse(Data(contentsOf: indexURL)).objectValue)
        var map = index["weight_map"]?.objectValue ?? [:]
        edit(&map)
        index["weight_map"] = .object(map)
        try JSONValue.object(index).encoded().write(to: indexURL)
        return dir
    }

    @Test func tensorInShardButNotInIndexIsAnError() throws {
        let dir = try shardedCopy { $0.removeValue(forKey: "layers.2.weight") }
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = #expect(throws: SafetensorsError.self) { try reader.read(dir, options: ReadOptions()) }
        #expect(error?.caseName == "tensorNotInIndex")
        #expect(error?.localizedDescription.contains("layers.2.weight") == true)
    }

    @Test func tensorInIndexButNotInShardIsAnError() throws {
        let dir = try shardedCopy { $0["layers.9.weight"] = "model-00001-of-00002.safetensors" }
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = #expect(throws: SafetensorsError.self) { try reader.read(dir, options: ReadOptions()) }
        #expect(error?.caseName == "tensorMissingFromShard")
        #expect(error?.localizedDescription.contains("layers.9.weight") == true)
    }

    @Test func shardNameLeavingTheFolderIsRefused() throws {
        let dir = try shardedCopy { $0["layers.0.bias"] = "../model-00002-of-00002.safetensors" }
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = #expect(throws: SafetensorsError.self) { try reader.read(dir, options: ReadOptions()) }
        #expect(error?.caseName == "unsafeShardName")
    }

    @Test func utf8ValidatorFindsTheFirstBadByte() {
        #expect(JSONValue.firstInvalidUTF8(Array("{\"é\":1}".utf8)) == nil)
        #expect(JSONValue.firstInvalidUTF8([0x7B, 0xC0, 0x80]) == 1)  // overlong
        #expect(JSONValue.firstInvalidUTF8([0x7B, 0xED, 0xA0, 0x80]) == 1)  // surrogate
        #expect(JSONValue.firstInvalidUTF8([0x7B, 0xE2, 0x82]) == 1)  // cut short
        #expect(JSONValue.firstInvalidUTF8([0x7B, 0xF0, 0x9F, 0x98, 0x80]) == nil)
    }
}
