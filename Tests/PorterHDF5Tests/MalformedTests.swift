import Foundation
import PorterCore
import PorterHDF5
import PorterTestSupport
import Testing

@Suite("Malformed HDF5 / Keras input")
struct MalformedTests {
    func read(_ rel: String) throws -> NeutralModel { try readFixture("malformed/" + rel) }

    @Test("truncated HDF5: cannotOpen naming the file")
    func truncated() {
        let path = Fixtures.url("hdf5/malformed/truncated.h5").path
        do {
            _ = try read("truncated.h5")
            Issue.record("expected an error")
        } catch let e as HDF5Error {
            guard case let .cannotOpen(file, detail) = e else { Issue.record("got \(e)"); return }
            #expect(file == path)
            #expect(!detail.isEmpty)
            #expect(e.localizedDescription.contains("truncated.h5"))
        } catch { Issue.record("untyped error \(error)") }
    }

    @Test("a text file with an .h5 extension: notHDF5")
    func notHDF5() throws {
        let url = Fixtures.url("hdf5/malformed/not_hdf5.h5")
        #expect(KerasH5Reader().probe(try ProbeInput.load(url)) == .likely)
        #expect(throws: HDF5Error.notHDF5(file: url.path)) { try read("not_hdf5.h5") }
    }

    @Test("a layer group without weight_names: missingWeightNames with its path")
    func missingWeightNames() {
        let path = Fixtures.url("hdf5/malformed/missing_weight_names.h5").path
        #expect(throws: HDF5Error.missingWeightNames(file: path, layerPath: "/dense_out")) { try read("missing_weight_names.h5") }
    }

    @Test("weight_names names an absent dataset: missingWeight with layer and weight")
    func missingDataset() {
        let path = Fixtures.url("hdf5/malformed/missing_dataset.h5").path
        let expected = HDF5Error.missingWeight(file: path, layerPath: "/dense_in", weightName: "dense_in/bias:0")
        #expect(throws: expected) { try read("missing_dataset.h5") }
        #expect(expected.localizedDescription.contains("/dense_in/dense_in/bias:0"))
    }

    @Test("a string dataset: unsupportedType with the dataset path")
    func stringDataset() {
        do {
            _ = try read("string_dataset.h5")
            Issue.record("expected an error")
        } catch let HDF5Error.unsupportedType(_, path, type) {
            #expect(path == "/layer/layer/text:0")
            #expect(type.contains("string"))
        } catch { Issue.record("got \(error)") }
    }

    @Test("a truncated .keras archive: archive error with a byte offset")
    func truncatedArchive() {
        do {
            _ = try read("truncated.keras")
            Issue.record("expected an error")
        } catch let HDF5Error.archive(file, _, reason) {
            #expect(file.hasSuffix("truncated.keras"))
            #expect(!reason.isEmpty)
        } catch { Issue.record("got \(error)") }
    }

    @Test("missing file: CoreError.cannotOpen")
    func missingFile() {
        #expect(throws: CoreError.self) { try KerasH5Reader().read(URL(fileURLWithPath: "/nonexistent/x.h5"), options: ReadOptions()) }
    }
}
