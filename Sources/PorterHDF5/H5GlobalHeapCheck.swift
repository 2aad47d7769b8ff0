import CHDF5
import CHDF5Shim
import Foundation
import PorterCore

/// One variable-length element as stored on disk: its length, the global-heap collection
/// holding its bytes, and its object index in that collection.
struct H5VlenReference: Equatable {
    var length: UInt32
    var heapAddress: UInt64
    var objectIndex: UInt32
}

/// Largest global-heap collection Porter accepts (libhdf5 writes 4 KiB collections,
/// larger only for single objects bigger than that; attributes are capped at 64 MiB).
let maxGlobalHeapCollectionBytes = maxAttributeBytes + 4096

/// Registers the raw-reference conversion once per process (libhdf5's type tables are global).
private let rawVlenConversionRegistered: Bool = porter_h5_register_raw_vlen_conversion() == 0

extension H5File {
    /// Checks every variable-length string of an attribute against the file's own bytes
    /// before libhdf5 reads them.
    ///
    /// libhdf5 1.10.8 copies a global-heap object into a buffer sized by the reference's
    /// length without comparing the two, and indexes the collection's object table without
    /// a bounds check (`H5HG_read`), so a corrupt reference or heap crashes the process.
    /// This reads the references undecoded (a conversion that leaves the on-disk bytes
    /// alone), parses each referenced collection from the file, and requires: a `GCOL`
    /// version-1 collection inside the file, a well-formed object list, the object present,
    /// and its size equal to the reference's length.
    func checkVariableLengthStrings(attribute a: H5Handle, count n: Int, name: String, on path: String) throws {
        let where_ = display(path)
        func bad(_ reason: String) -> HDF5Error {
            HDF5Error.badAttribute(file: self.path, path: where_, attribute: name, reason: "corrupt variable-length string: \(reason)")
        }
        guard let raw = rawFile else { return }  // in-memory images: the bytes are not at hand
        guard rawVlenConversionRegistered else {
            throw HDF5Error.operationFailed(file: self.path, path: where_, operation: "H5Tregister", detail: H5.errorText())
        }
        H5.prepare()
        var sizeofAddr = 0, sizeofSize = 0
        var userblock: UInt64 = 0
        guard porter_h5f_sizes(handle.id, &sizeofAddr, &sizeofSize, &userblock) == 0,
              [2, 4, 8].contains(sizeofAddr), [2, 4, 8].contains(sizeofSize) else {
            throw HDF5Error.operationFailed(file: self.path, path: where_, operation: "H5Pget_sizes", detail: H5.errorText())
        }
        let refSize = 4 + sizeofAddr + 4
        let mtype = try H5.handle(porter_h5t_raw_vlen_reference(refSize), .datatype, file: self.path, path: where_, "H5Tcreate opaque")
        var bytes = [UInt8](repeating: 0, count: n * refSize)
        try H5.check(H5Aread(a.id, mtype.id, &bytes), file: self.path, path: where_, "H5Aread \(name) (references)")

        try H5RawChecks.checkVariableLengthReferences(raw, references: bytes, count: n,
                                                      sizes: H5RawChecks.Sizes(addr: sizeofAddr, size: sizeofSize, userblock: userblock),
                                                      file: self.path, bad: bad)
    }
}

extension H5RawChecks {
    /// Checks `count` on-disk variable-length references (`length`, heap address,
    /// object index; `4 + sizes.addr + 4` bytes each) against the global-heap collections
    /// they point at: a `GCOL` version-1 collection inside the file, a well-formed object
    /// list, the object present, and its size equal to the reference's length.
    public static func checkVariableLengthReferences(_ raw: OpenFile, references bytes: [UInt8], count n: Int, sizes: Sizes,
                                                     file: String, bad: (String) -> HDF5Error) throws {
        let sizeofAddr = sizes.addr, sizeofSize = sizes.size, userblock = sizes.userblock
        guard [2, 4, 8].contains(sizeofAddr), [2, 4, 8].contains(sizeofSize) else {
            throw bad("sizes of addresses (\(sizeofAddr)) and lengths (\(sizeofSize)) are not 2, 4 or 8 bytes")
        }
        var refs: [H5VlenReference] = []
        var reader = ByteReader(bytes, source: file)
        for _ in 0..<n {
            let length = try reader.readLE(UInt32.self)
            let addr = try readSizedValue(&reader, sizeofAddr)
            let index = try reader.readLE(UInt32.self)
            refs.append(H5VlenReference(length: length, heapAddress: addr, objectIndex: index))
        }
        var collections: [UInt64: [UInt32: (offset: Int, size: Int)]] = [:]
        for (i, ref) in refs.enumerated() {
            if ref.heapAddress == 0 { continue }  // a null string
            guard Int(ref.length) <= maxAttributeBytes else { throw bad("element \(i) claims \(ref.length) bytes") }
            let objects: [UInt32: (offset: Int, size: Int)]
            if let known = collections[ref.heapAddress] {
                objects = known
            } else {
                objects = try globalHeapObjects(raw, address: ref.heapAddress, userblock: userblock,
                                                sizeofSize: sizeofSize, element: i, file: file, bad: bad)
                collections[ref.heapAddress] = objects
            }
            guard ref.objectIndex != 0, let object = objects[ref.objectIndex] else {
                throw bad("element \(i) refers to object \(ref.objectIndex), which heap collection at \(ref.heapAddress) does not hold")
            }
            guard object.size == Int(ref.length) else {
                throw bad("element \(i) has length \(ref.length) but its heap object (byte \(object.offset)) holds \(object.size) bytes")
            }
        }
    }

    /// Parses the global-heap collection at `address` (relative to the user block) and
    /// returns its objects by index: absolute file offset of the data and size.
    private static func globalHeapObjects(_ raw: OpenFile, address: UInt64, userblock: UInt64, sizeofSize: Int,
                                          element: Int, file: String, bad: (String) -> HDF5Error) throws -> [UInt32: (offset: Int, size: Int)] {
        let (absolute, o1) = address.addingReportingOverflow(userblock)
        let headerSize = 8 + sizeofSize
        guard !o1, let start = Int(exactly: absolute), start <= raw.size, raw.size - start >= headerSize else {
            throw bad("element \(element) points to a heap collection at byte \(address), outside the file")
        }
        var header = ByteReader(try raw.read(offset: start, count: headerSize), source: file, baseOffset: start)
        guard Array(try header.readBytes(4)) == Array("GCOL".utf8) else {
            throw bad("no global heap collection (GCOL) at byte \(start)")
        }
        guard try header.readU8() == 1 else { throw bad("global heap collection at byte \(start) has an unknown version") }
        try header.skip(3)
        let declared = try readSizedValue(&header, sizeofSize)
        guard let size = Int(exactly: declared), size >= headerSize, size <= maxGlobalHeapCollectionBytes,
              size <= raw.size - start else {
            throw bad("global heap collection at byte \(start) declares \(declared) bytes, beyond the file or Porter's limit")
        }
        var r = ByteReader(try raw.read(offset: start, count: size), source: file, baseOffset: start)
        try r.seek(to: headerSize)
        let objectHeader = 8 + sizeofSize
        var objects: [UInt32: (offset: Int, size: Int)] = [:]
        while r.remaining > 0 {
            if r.remaining < objectHeader { break }  // trailing free space too small for a header
            let at = r.position
            let index = try r.readLE(UInt16.self)
            try r.skip(2 + 4)  // reference count, reserved
            let objectSize = try readSizedValue(&r, sizeofSize)
            guard let s = Int(exactly: objectSize), s <= size else {
                throw bad("heap object at byte \(start + at) declares \(objectSize) bytes")
            }
            if index == 0 {
                // Free space: its size counts its own header and runs to the collection's end
                // (libhdf5 keeps it last). libhdf5 1.10.8 parses on past free space that stops
                // short, and loops forever on a zero-sized entry there, so it must reach the end.
                guard s >= objectHeader, s == size - at else { throw bad("heap free space at byte \(start + at) is malformed") }
                break
            }
            let padded = (s + 7) & ~7
            guard padded <= r.remaining else {
                throw bad("heap object \(index) at byte \(start + at) runs past its collection")
            }
            guard objects[UInt32(index)] == nil else { throw bad("heap collection at byte \(start) holds object \(index) twice") }
            objects[UInt32(index)] = (start + r.position, s)
            try r.skip(padded)
        }
        return objects
    }
}
