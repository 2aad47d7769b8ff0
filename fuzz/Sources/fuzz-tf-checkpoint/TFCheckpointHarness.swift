import FuzzSupport
import PorterPipeline

// A TensorFlow tensor bundle's `.index` (SSTable: footer, block handles, blocks with
// restarts, CRC-32C, snappy; BundleHeaderProto and BundleEntryProto protobufs, object
// graph) read by the pipeline's checkpoint reader. The data shard beside it is the fixed
// fixture the seed index came from (tensorflow/object).
private let setUp: Void = {
    FuzzInput.copyFixture("tensorflow/object/ckpt-1.data-00000-of-00001", to: "ckpt/ckpt-1.data-00000-of-00001")
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    setUp
    let url = FuzzInput.write(data, size, to: "ckpt/ckpt-1.index")
    _ = try? Pipeline().read(url, format: "tensorflow-checkpoint")
    return 0
}
