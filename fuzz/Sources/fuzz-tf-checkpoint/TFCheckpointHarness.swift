import FuzzSupport
import PorterPipeline

// A TensorFlow tensor bundle's `.index` (SSTable: footer, block handles, blocks with
// restarts, snappy; BundleHeaderProto and BundleEntryProto protobufs, object graph) read by
// the pipeline's checkpoint reader. The block checksums are recomputed first
// (LevelDBChecksums) so mutations reach the parsers behind the CRC check; the seeds and the
// robustness tests cover the checksum failures themselves. The data shard beside it is the
// fixed fixture of the first seed (tensorflow/object).
private let setUp: Void = {
    FuzzInput.copyFixture("tensorflow/object/ckpt-1.data-00000-of-00001", to: "ckpt/ckpt-1.data-00000-of-00001")
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    setUp
    var bytes = FuzzInput.bytes(data, size)
    LevelDBChecksums.repair(&bytes)
    let url = bytes.withUnsafeBufferPointer { FuzzInput.write($0.baseAddress ?? data, $0.count, to: "ckpt/ckpt-1.index") }
    _ = try? Pipeline().read(url, format: "tensorflow-checkpoint")
    return 0
}
