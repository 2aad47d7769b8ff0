import Foundation
import PorterCore
@testable import PorterPyTorch
import PorterTestSupport
import Testing

/// fixtures/pytorch-layouts (gen_pytorch_layouts.py): how people save models besides a bare
/// state dict. Each file must give the state dict `Net().load_state_dict` accepted at
/// generation, name for name and byte for byte.
@Suite struct SaveLayoutTests {
    static let expected: [String: JSONValue] = (try? Fixtures.json("pytorch-layouts/expected.json").objectValue) ?? [:]
    static let files = expected.keys.sorted()

    @Test(arguments: files)
    func theStateDictAUserLoads(_ file: String) throws {
        let model = try PyTorchReader().read(Fixtures.url("pytorch-layouts/" + file), options: ReadOptions())
        let want = try #require(Self.expected[file]?["tensors"]?.objectValue)
        #expect(Set(model.tensors.names) == Set(want.keys), "\(file): \(model.tensors.names)")
        for (name, w) in want {
            let entry = try #require(model.tensors[name], "\(file): \(name)")
            #expect(entry.tensor.dtype.rawValue == w["dtype"]?.stringValue)
            #expect(entry.tensor.shape.dims == w["shape"]?.arrayValue?.compactMap(\.intValue))
            #expect(try tensorDigest(entry.tensor) == w["sha256"]?.stringValue, "\(file): \(name) bytes")
        }
        for (key, value) in Self.expected[file]?["config"]?.objectValue ?? [:] {
            #expect(model.config[key] == value, "\(file): config \(key)")
        }
        for pair in Self.expected[file]?["aliases"]?.arrayValue ?? [] {
            let names = pair.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(model.tensors.aliases()[names[0]] == names[1], "\(file): \(names) tied")
        }
    }

    @Test func aPickledModuleNamesItsClasses() throws {
        let model = try PyTorchReader().read(Fixtures.url("pytorch-layouts/module_whole.pt"), options: ReadOptions())
        let note = try #require(model.notes.first { $0.hasPrefix("pickled nn.Module") })
        #expect(note.contains("__main__.Net"))
        #expect(note.contains("__main__.Block ×2"))
        for transient in Self.expected["module_whole.pt"]?["not_in_state_dict"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
            #expect(model.tensors[transient] == nil, "non-persistent buffer \(transient) is not in state_dict()")
        }
    }

    @Test func nestedCheckpointsKeepTheModelArguments() throws {
        let model = try PyTorchReader().read(Fixtures.url("pytorch-layouts/nested_model_args.pt"), options: ReadOptions())
        #expect(model.notes.contains("state dict read from `model.state_dict`"))
        #expect(model.dropped.allSatisfy { $0.name.hasPrefix("optimizer.") })
        #expect(!model.dropped.isEmpty)
    }
}
