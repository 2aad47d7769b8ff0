import Foundation
import PorterCore
import PorterPickle

/// numpy arrays inside pickles: `numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')`
/// (or `numpy._core…`) followed by `BUILD` with `(version, shape, dtype, is_fortran, data)`,
/// become tensors over their bytes, bit-exact, in either byte order and memory order.
/// An object array becomes its elements (a 0-d one its one element, others the flat list),
/// which are ordinary pickled values: arrays among them become tensors in turn. Structured
/// arrays stay inert.
enum NumpyArray {
    static let reconstructors: Set<String> = ["numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct"]

    /// The numpy dtype string (`f4`, `<i8`, `b1`, …) and byte-order character as Porter's dtype.
    static func dtype(_ code: String, order: String) -> (DType, ByteOrder)? {
        var text = Substring(code)
        var byteOrder: ByteOrder = order == ">" ? .big : .little
        if let first = text.first, "<>|=".contains(first) {
            if first == ">" { byteOrder = .big } else if first == "<" { byteOrder = .little }
            text = text.dropFirst()
        }
        let table: [String: DType] = ["f2": .f16, "f4": .f32, "f8": .f64, "i1": .i8, "i2": .i16, "i4": .i32, "i8": .i64,
                                      "u1": .u8, "u2": .u16, "u4": .u32, "u8": .u64, "b1": .bool, "c8": .c64]
        guard let d = table[String(text)] else { return nil }
        return (d, d.byteSize == 1 ? .little : byteOrder)
    }

    static func tensor(_ target: PickleValue, state: PickleValue, path: String, offset: Int) throws -> PickleValue? {
        guard case let .object(o) = target, reconstructors.contains("\(o.type.module).\(o.type.name)") else { return nil }
        guard let parts = state.sequenceItems, parts.count == 5 else { return nil }
        guard case let .object(dt) = parts[2], dt.type.name == "dtype", let code = dt.args.sequenceItems?.first?.stringValue else { return nil }
        // numpy pickles the object dtype as dtype('O8').
        if ["O", "O8", "|O", "|O8"].contains(code) {
            guard let items = parts[4].sequenceItems else { return nil }
            let dims = try TorchUnpickler.ints(parts[1], "numpy array shape", path: path, offset: offset)
            if dims.isEmpty { return items.count == 1 ? items[0] : nil }
            return .list(PickleList(items))
        }
        let order = dt.state?.sequenceItems.flatMap { $0.count > 1 ? $0[1].stringValue : nil } ?? "<"
        guard let (dtype, byteOrder) = dtype(code, order: order) else { return nil }
        let data: [UInt8]
        switch parts[4] {
        case let .bytes(b): data = b
        // b'' at protocol 2 is pickled as `__builtin__.bytes()`.
        case let .object(e) where e.type.name == "bytes" && (e.args.sequenceItems?.isEmpty ?? true): data = []
        default: return nil  // object arrays: a list of values
        }
        let dims = try TorchUnpickler.ints(parts[1], "numpy array shape", path: path, offset: offset)
        guard dims.allSatisfy({ $0 >= 0 }) else {
            throw PyTorchError.badTensorArguments(path: path, offset: offset, reason: "numpy array shape \(dims) has a negative dimension")
        }
        var count = 1
        for d in dims {
            let (m, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw CoreError.sizeOverflow(source: path, what: "numpy array of shape \(dims)") }
            count = m
        }
        guard count.multipliedReportingOverflow(by: dtype.byteSize) == (data.count, false) else {
            throw PyTorchError.badTensorArguments(path: path, offset: offset,
                                                  reason: "numpy array of shape \(dims) and dtype \(code) needs \(count * dtype.byteSize) bytes, the pickle holds \(data.count)")
        }
        var strides: [Int]? = nil
        if parts[3].boolValue == true, dims.count > 1 {
            // Fortran order: the first index varies fastest.
            var s: [Int] = []
            var step = 1
            for d in dims { s.append(step); step *= max(d, 1) }
            strides = s
        }
        let storage = TensorStorage(byteCount: data.count, backing: .memory(data), label: "\(path):numpy array at byte \(offset)")
        let ref = TensorRef(dtype: dtype, shape: Shape(dims), storage: storage, strides: strides, byteOrder: byteOrder)
        try ref.validate(name: "numpy array at byte \(offset) of \(path)")
        return .tensor(ref)
    }
}
