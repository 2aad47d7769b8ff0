import Foundation
@testable import PorterHDF5
import PorterCore
import PorterTestSupport
import Testing

@Suite("libhdf5 handles")
struct HandleTests {
    @Test("no HDF5 id stays open after attributes, walks, reads and errors", arguments: ["mlp_sequential.h5", "dtypes.h5", "chunked_deflate.h5", "split_attrs.h5"])
    func noLeaks(file: String) throws {
        // A private copy: libhdf5 shares one open file between handles, so another test
        // reading the same fixture at the same moment would be counted here too.
        let dir = try Fixtures.scratchDirectory("porter-h5-handles")
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent(file)
        try FileManager.default.copyItem(at: Fixtures.url("hdf5/" + file), to: copy)
        let h5 = try H5File(path: copy.path)
        #expect(h5.openObjectCount == 1)
        _ = try h5.attributeNames(on: "/")
        _ = try h5.kerasListAttribute("layer_names", on: "/")
        _ = try? h5.stringsAttribute("no_such_attribute", on: "/")
        _ = try? h5.open("no/such/object")
        for path in try h5.datasets(under: "") {
            _ = try? h5.describeDataset(path)
            _ = try? h5.readDataset(path)
            let t = try? h5.tensor(path)
            _ = try? t.map(tensorDigest)
        }
        #expect(h5.openObjectCount == 1, "\(file): ids leaked")
    }

    @Test("HDF5 errors carry HDF5's own error stack text")
    func errorStack() throws {
        let h5 = try H5File(path: Fixtures.url("hdf5/dtypes.h5").path)
        #expect(throws: HDF5Error.missingObject(file: h5.path, path: "/all/nope")) { _ = try h5.open("all/nope") }
        do {
            _ = try h5.members(of: "all/int8")  // a dataset, not a group
            Issue.record("expected an error")
        } catch let HDF5Error.operationFailed(_, path, op, detail) {
            #expect(path == "/all/int8")
            #expect(op == "H5Gget_info")
            #expect(detail.contains("H5G"))
        }
    }
}
