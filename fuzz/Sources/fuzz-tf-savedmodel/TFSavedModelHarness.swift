import FuzzSupport
import PorterPipeline

// A SavedModel's `saved_model.pb` (SavedModel / MetaGraphDef / GraphDef / object graph
// protobufs, signatures, function graph import) read by the pipeline's SavedModel reader,
// in a folder whose variables/ is the fixed fixture of the seed (tensorflow/keras_mlp).
private let setUp: Void = {
    FuzzInput.copyFixture("tensorflow/keras_mlp/variables/variables.index", to: "sm/variables/variables.index")
    FuzzInput.copyFixture("tensorflow/keras_mlp/variables/variables.data-00000-of-00001", to: "sm/variables/variables.data-00000-of-00001")
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    setUp
    let url = FuzzInput.write(data, size, to: "sm/saved_model.pb")
    _ = try? Pipeline().read(url.deletingLastPathComponent(), format: "tensorflow-savedmodel")
    return 0
}
