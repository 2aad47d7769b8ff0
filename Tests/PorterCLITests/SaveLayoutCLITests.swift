import Foundation
import PorterCore
import PorterSafetensors
import PorterTestSupport
import Testing

/// Through the binary: a pickled module, a nested training checkpoint and a DDP state dict
/// convert to safetensors holding the state dict a user loads, bit for bit.
@Suite struct SaveLayoutCLITests {
    static let expected: [String: JSONValue] = (try? Fixtures.json("pytorch-layouts/expected.json").objectValue) ?? [:]

    @Test(arguments: expected.keys.sorted())
    func convertsToTheStateDict(_ file: String) throws {
        let out = try Fixtures.scratchDirectory("porter-layouts")
        defer { try? FileManager.default.removeItem(at: out) }
        let target = out.appendingPathComponent("model.safetensors")
        let run = try CLI.run(["convert", Fixtures.url("pytorch-layouts/" + file).path, "--to", "safetensors", "-o", target.path])
        #expect(run.status == 0, "\(file): \(run.stderr)")
        let model = try SafetensorsReader().read(target, options: ReadOptions())
        let want = try #require(Self.expected[file]?["tensors"]?.objectValue)
        #expect(Set(model.tensors.names) == Set(want.keys))
        for (name, w) in want {
            #expect(try tensorDigest(try #require(model.tensors[name]).tensor) == w["sha256"]?.stringValue, "\(file): \(name)")
        }
    }
}
