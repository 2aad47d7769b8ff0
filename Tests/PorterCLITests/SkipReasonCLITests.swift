import Foundation
import PorterTestSupport
import Testing

/// A verify that cannot run a forward pass says why in the words of the source's reader
/// (the Keras layer, the TF op, the missing model_config), not "the config has no
/// model_type", which is true of every Keras and SavedModel source and explains nothing.
@Suite("Verify skip reasons")
struct SkipReasonCLITests {
    static func verifyAfterConvert(_ fixture: String) throws -> (status: Int32, out: String) {
        let out = try Fixtures.scratchDirectory("porter-skip")
        defer { try? FileManager.default.removeItem(at: out) }
        let target = out.appendingPathComponent("model.safetensors")
        let convert = try CLI.run(["convert", Fixtures.url(fixture).path, "--to", "safetensors", "-o", target.path])
        #expect(convert.status == 0, "\(convert.stderr)")
        let verify = try CLI.run(["verify", Fixtures.url(fixture).path, target.path])
        return (verify.status, verify.stdout + verify.stderr)
    }

    @Test("a Keras layer Porter cannot express is named", arguments: [("hdf5/lambda_model.h5", "Lambda")])
    func kerasLayerNamed(fixture: String, layer: String) throws {
        let r = try Self.verifyAfterConvert(fixture)
        #expect(r.status == 0, "\(r.out)")
        #expect(r.out.contains(layer), "\(r.out)")
        #expect(!r.out.contains("has no model_type"), "\(r.out)")
    }

    @Test("a weights-only Keras file says it holds no architecture")
    func weightsOnly() throws {
        let r = try Self.verifyAfterConvert("hdf5/weights_only.h5")
        #expect(r.status == 0, "\(r.out)")
        #expect(r.out.contains("holds weights only"), "\(r.out)")
        #expect(!r.out.contains("has no model_type"), "\(r.out)")
    }

    @Test("a SavedModel whose graph uses ops Porter lacks names them")
    func savedModelOpsNamed() throws {
        let r = try Self.verifyAfterConvert("tensorflow/beyond_ops")
        #expect(r.status == 0, "\(r.out)")
        #expect(!r.out.contains("has no model_type"), "\(r.out)")
        #expect(r.out.contains("Cumsum"), "\(r.out)")
    }
}
