import Foundation
import Testing
import PorterCore
import PorterTestSupport

/// Mappings keep the source's graph consistent with the weights they rename and relay,
/// or drop it with the reason; typed provenance of older model folders still verifies.
@Suite struct MappedGraphCLITests {
    func json(_ url: URL) throws -> JSONValue { try JSONValue.parse(Data(contentsOf: url)) }

    @Test("keras-to-pytorch on the Keras MLP: the graph follows the renames and transposes, and the forward level runs and passes")
    func kerasMappedToPorterVerifiesForward() throws {
        let dir = try Fixtures.scratchDirectory("porter-mapped-graph")
        let out = dir.appendingPathComponent("X"), rep = dir.appendingPathComponent("report")
        let r = try CLI.run(["convert", Fixtures.url("hdf5/mlp_sequential.h5").path, "--to", "porter", "--mapping", "keras-to-pytorch",
                             "-o", out.path, "--verify", "--report", rep.path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let report = try json(rep.appendingPathComponent("report.json"))
        #expect(report["forward"]?["status"] == "passed")
        #expect(report["weights"]?["bitExact"] == 4)
        #expect(report["conversion"]?["graphDropped"] == nil)
        let model = try json(out.appendingPathComponent("model.json"))
        let nodes = try #require(model["graph"]?["nodes"]?.arrayValue)
        let dense = try #require(nodes.first { $0["name"] == "dense_in" })
        #expect(dense["inputs"] == ["input_1", "dense_in.weight", "dense_in.bias"])
        #expect(dense["attributes"]?["weight_layout"] == "out_in")
        let inputs = nodes.flatMap { $0["inputs"]?.arrayValue ?? [] }.compactMap(\.stringValue)
        #expect(!inputs.contains { $0.hasSuffix(":0") }, "the graph still reads a Keras name: \(inputs)")
        // Provenance is typed: the rename and the transpose as objects.
        let steps = model["tensors"]?.arrayValue?.first { $0["name"] == "dense_in.weight" }?["provenance"]?["transforms"]
        #expect(steps == [["rename": ["from": "dense_in/dense_in/kernel:0", "to": "dense_in.weight"]], ["transpose": ["perm": [1, 0]]]])
    }

    @Test("conv kernels transposed HWIO → OIHW get kernel_layout OIHW, so the CNN still runs", arguments: ["porter", "pytorch"])
    func kerasCNNMappedRunsForward(format: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-mapped-graph")
        let r = try CLI.run(["convert", Fixtures.url("hdf5/cnn_functional.h5").path, "--to", format, "--mapping", "keras-to-pytorch",
                             "--allow-unmapped", "-o", dir.appendingPathComponent(format == "porter" ? "cnn" : "cnn.pt").path, "--verify"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("forward:   passed"))
    }

    @Test("a mapping that splits a weight the graph reads whole: the graph is dropped with a note, weights-level only, and the report says why")
    func splitWeightDropsTheGraph() throws {
        let dir = try Fixtures.scratchDirectory("porter-mapped-graph")
        let mapping = dir.appendingPathComponent("split.json")
        try Data("""
            {"format": "porter-mapping/1", "name": "split-dense-in", "rules": [
              {"match": "^dense_in/dense_in/kernel:0$", "split": {"axis": 1, "into": ["dense_in.weight_a", "dense_in.weight_b"]}},
              {"match": "^([^/]+)/(?:.*/)?kernel:0$", "rename": "$1.weight", "transpose": [1, 0]},
              {"match": "^([^/]+)/(?:.*/)?bias:0$", "rename": "$1.bias"}]}
            """.utf8).write(to: mapping)
        let out = dir.appendingPathComponent("S"), rep = dir.appendingPathComponent("report")
        let r = try CLI.run(["convert", Fixtures.url("hdf5/mlp_sequential.h5").path, "--to", "porter", "--mapping", mapping.path,
                             "-o", out.path, "--verify", "--report", rep.path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("forward:   skipped"))
        let report = try json(rep.appendingPathComponent("report.json"))
        #expect(report["weights"]?["status"] == "passed")
        #expect(report["forward"]?["status"] == "skipped")
        let why = try #require(report["forward"]?["reason"]?.stringValue)
        #expect(why.contains("node dense_in (linear) reads dense_in/dense_in/kernel:0 whole") && why.contains("splits it into dense_in.weight_a, dense_in.weight_b"))
        #expect(report["conversion"]?["graphDropped"]?.stringValue?.contains("splits it") == true)
        let model = try json(out.appendingPathComponent("model.json"))
        #expect(model["graph"] == nil)
        #expect(model["notes"]?.arrayValue?.contains { $0.stringValue?.contains("not carried over: node dense_in") == true } == true)
    }

    @Test("a model folder written at format version 1 (prose provenance) still reads and verifies against its source")
    func versionOneFolderVerifies() throws {
        let dir = try Fixtures.scratchDirectory("porter-mapped-graph")
        let rep = dir.appendingPathComponent("report")
        let r = try CLI.run(["verify", Fixtures.url("fairseq/old-layout").path, Fixtures.url("neutral/v1-fsmt-old-layout").path, "--report", rep.path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let report = try json(rep.appendingPathComponent("report.json"))
        #expect(report["weights"]?["bitExact"] == 87)
        #expect(report["forward"]?["status"] == "passed")
    }
}
