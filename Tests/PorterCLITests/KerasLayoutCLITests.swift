import Foundation
import PorterCore
import PorterTestSupport
import Testing

/// Through the binary: `--to keras-h5` picks the layout from the output name.
@Suite struct KerasLayoutCLITests {
    func inspect(_ url: URL) throws -> JSONValue {
        let run = try CLI.run(["inspect", url.path, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        return try JSONValue.parse(Data(run.stdout.utf8))
    }

    @Test(arguments: ["hdf5/keras3_mlp.keras", "hdf5/mlp_sequential.h5", "keras-layers/k3_conv2d_transpose.keras"])
    func bothLayoutsFromOneSource(_ fixture: String) throws {
        let out = try Fixtures.scratchDirectory("porter-keras-layout")
        defer { try? FileManager.default.removeItem(at: out) }
        let source = try inspect(Fixtures.url(fixture))
        for (file, layout) in [("m.h5", "full-model"), ("m.weights.h5", "keras3-weights")] {
            let target = out.appendingPathComponent(file)
            let run = try CLI.run(["convert", Fixtures.url(fixture).path, "--to", "keras-h5", "-o", target.path])
            #expect(run.status == 0, "\(fixture) → \(file): \(run.stderr)")
            let written = try inspect(target)
            #expect(written["metadata"]?["keras_layout"]?.stringValue == layout, "\(fixture) → \(file)")
            #expect(written["tensorCount"] == source["tensorCount"])
            if layout == "full-model" {
                #expect(written["config"] == source["config"], "\(fixture) → \(file): model_config is not the source's")
                #expect(written["graph"] != nil && written["graph"] != .null, "\(fixture) → \(file): no graph")
            }
        }
    }

    @Test func keras3LayoutNeedsAKerasConfig() throws {
        let out = try Fixtures.scratchDirectory("porter-keras-layout")
        defer { try? FileManager.default.removeItem(at: out) }
        let target = out.appendingPathComponent("w.weights.h5")
        let run = try CLI.run(["convert", Fixtures.url("hdf5/weights_only.h5").path, "--to", "keras-h5", "-o", target.path])
        #expect(run.status == 1)
        #expect(run.stderr.contains("w.weights.h5") && run.stderr.contains("Keras model config"), "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
    }
}
