import Foundation

// The parts of onnx.proto Porter reads, decoded by a wire-format scan of the mapped file
// (field numbers from onnx.proto; Protos/onnx.proto lists them). Tensor payloads are not
// decoded here: a TensorProto records where its raw_data or typed fields sit, and the
// reader turns that into lazy storage.

/// ONNX TensorProto.DataType numbers.
public enum ONNXDataType {
    public static let float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, string = 8,
                      bool = 9, float16 = 10, double = 11, uint32 = 12, uint64 = 13, complex64 = 14,
                      complex128 = 15, bfloat16 = 16, float8e4m3fn = 17, float8e4m3fnuz = 18, float8e5m2 = 19,
                      float8e5m2fnuz = 20, uint4 = 21, int4 = 22, float4e2m1 = 23

    static let names: [Int: String] = [
        1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 8: "STRING", 9: "BOOL",
        10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16",
        17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2", 20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4",
        23: "FLOAT4E2M1",
    ]

    public static func name(_ type: Int) -> String { names[type] ?? "data type \(type)" }
}

/// A TensorProto: its header fields decoded, its data located.
struct TensorProto {
    var name = ""
    var dims: [Int64] = []
    var dataType = 0
    /// Absolute offset of the TensorProto message in the file (for errors).
    var offset = 0
    /// raw_data (field 9), absolute byte range.
    var rawData: Range<Int>?
    /// Typed-data fields (4 float, 5 int32, 7 int64, 10 double, 11 uint64) in file order.
    var typed: [WireField] = []
    var externalData: [(key: String, value: String)] = []
    /// data_location (14): 1 is EXTERNAL.
    var dataLocation = 0
    var stringCount = 0
    /// segment (3): the tensor is one chunk of a larger one.
    var hasSegment = false

    static let floatData = 4, int32Data = 5, int64Data = 7, doubleData = 10, uint64Data = 11
    var typedFieldNumbers: Set<Int> { Set(typed.map(\.field)) }
}

/// A dimension of a ValueInfoProto's tensor type: a number, a symbol, or unknown.
public enum ONNXDim: Sendable, Hashable, CustomStringConvertible {
    case value(Int64)
    case param(String)
    case unknown

    public var description: String {
        switch self {
        case let .value(v): return String(v)
        case let .param(p): return p
        case .unknown: return "?"
        }
    }
}

/// A graph input or output: name, element type and shape (nil: unknown rank or not a tensor).
public struct ONNXValueInfo: Sendable, Hashable {
    public var name: String
    public var elementType: Int
    public var shape: [ONNXDim]?
    /// The type is not a tensor (sequence, map, optional, sparse).
    public var isTensor: Bool

    /// `input_ids: INT64[batch, sequence]`.
    public var summary: String {
        let type = isTensor ? ONNXDataType.name(elementType) : "non-tensor"
        let dims = shape.map { "[" + $0.map(\.description).joined(separator: ", ") + "]" } ?? "[unknown rank]"
        return "\(name): \(type)\(dims)"
    }
}

/// One attribute of a node.
struct AttributeProto {
    var name = ""
    var type = 0
    var offset = 0
    var f: Float?
    var i: Int64?
    var s: [UInt8]?
    var t: TensorProto?
    var g: GraphProto?
    var floats: [Float] = []
    var ints: [Int64] = []
    var strings: [[UInt8]] = []
    var graphs: [GraphProto] = []
}

struct NodeProto {
    var name = ""
    var opType = ""
    var domain = ""
    var inputs: [String] = []
    var outputs: [String] = []
    var attributes: [AttributeProto] = []
    var offset = 0
}

struct GraphProto {
    var name = ""
    var nodes: [NodeProto] = []
    var initializers: [TensorProto] = []
    var sparseInitializerCount = 0
    var inputs: [ONNXValueInfo] = []
    var outputs: [ONNXValueInfo] = []
    var valueInfo: [ONNXValueInfo] = []
}

struct OperatorSet: Hashable {
    var domain: String
    var version: Int64
}

struct ModelProto {
    var irVersion: Int64 = 0
    var opsets: [OperatorSet] = []
    var producerName = ""
    var producerVersion = ""
    var domain = ""
    var modelVersion: Int64 = 0
    var docString = ""
    var metadata: [(key: String, value: String)] = []
    var graph: GraphProto?
    var functionCount = 0
}

/// Decodes the ModelProto structure from the mapped bytes of an `.onnx` file.
struct ProtoParser {
    let bytes: UnsafeRawBufferPointer
    let file: String

    /// Subgraphs (If/Loop/Scan bodies) nest graphs inside nodes inside graphs; Porter
    /// follows at most this many levels of graph.
    static let maxGraphDepth = 16

    func model() throws -> ModelProto {
        var m = ModelProto()
        var r = WireReader(bytes, range: 0..<bytes.count, file: file, message: "ModelProto")
        while let f = try r.next() {
            switch f.field {
            case 1: try r.expect(f, WireField.varint); m.irVersion = Int64(bitPattern: f.value)
            case 2: m.producerName = try r.string(f)
            case 3: m.producerVersion = try r.string(f)
            case 4: m.domain = try r.string(f)
            case 5: try r.expect(f, WireField.varint); m.modelVersion = Int64(bitPattern: f.value)
            case 6: m.docString = try r.string(f)
            case 7: try r.expect(f, WireField.lengthDelimited); m.graph = try graph(f.payload, depth: 1)
            case 8: try r.expect(f, WireField.lengthDelimited); m.opsets.append(try opset(f.payload))
            case 14: try r.expect(f, WireField.lengthDelimited); m.metadata.append(try entry(f.payload, message: "ModelProto.metadata_props"))
            case 25: try r.expect(f, WireField.lengthDelimited); m.functionCount += 1
            default: break
            }
        }
        return m
    }

    func opset(_ range: Range<Int>) throws -> OperatorSet {
        var o = OperatorSet(domain: "", version: 0)
        var r = WireReader(bytes, range: range, file: file, message: "OperatorSetIdProto")
        while let f = try r.next() {
            switch f.field {
            case 1: o.domain = try r.string(f)
            case 2: try r.expect(f, WireField.varint); o.version = Int64(bitPattern: f.value)
            default: break
            }
        }
        return o
    }

    func entry(_ range: Range<Int>, message: String) throws -> (key: String, value: String) {
        var key = "", value = ""
        var r = WireReader(bytes, range: range, file: file, message: message)
        while let f = try r.next() {
            switch f.field {
            case 1: key = try r.string(f)
            case 2: value = try r.string(f)
            default: break
            }
        }
        return (key, value)
    }

    func graph(_ range: Range<Int>, depth: Int) throws -> GraphProto {
        guard depth <= Self.maxGraphDepth else {
            throw ONNXError.nestingTooDeep(file: file, offset: range.lowerBound, depth: depth, limit: Self.maxGraphDepth)
        }
        var g = GraphProto()
        var r = WireReader(bytes, range: range, file: file, message: "GraphProto")
        while let f = try r.next() {
            switch f.field {
            case 1: try r.expect(f, WireField.lengthDelimited); g.nodes.append(try node(f.payload, offset: f.offset, depth: depth))
            case 2: g.name = try r.string(f)
            case 5: try r.expect(f, WireField.lengthDelimited); g.initializers.append(try tensor(f.payload, offset: f.offset, depth: depth))
            case 11: try r.expect(f, WireField.lengthDelimited); g.inputs.append(try valueInfo(f.payload))
            case 12: try r.expect(f, WireField.lengthDelimited); g.outputs.append(try valueInfo(f.payload))
            case 13: try r.expect(f, WireField.lengthDelimited); g.valueInfo.append(try valueInfo(f.payload))
            case 15: try r.expect(f, WireField.lengthDelimited); g.sparseInitializerCount += 1
            default: break
            }
        }
        return g
    }

    func node(_ range: Range<Int>, offset: Int, depth: Int) throws -> NodeProto {
        var n = NodeProto()
        n.offset = offset
        var r = WireReader(bytes, range: range, file: file, message: "NodeProto")
        while let f = try r.next() {
            switch f.field {
            case 1: n.inputs.append(try r.string(f))
            case 2: n.outputs.append(try r.string(f))
            case 3: n.name = try r.string(f)
            case 4: n.opType = try r.string(f)
            case 5: try r.expect(f, WireField.lengthDelimited); n.attributes.append(try attribute(f.payload, offset: f.offset, depth: depth))
            case 7: n.domain = try r.string(f)
            default: break
            }
        }
        return n
    }

    func attribute(_ range: Range<Int>, offset: Int, depth: Int) throws -> AttributeProto {
        var a = AttributeProto()
        a.offset = offset
        var r = WireReader(bytes, range: range, file: file, message: "AttributeProto")
        while let f = try r.next() {
            switch f.field {
            case 1: a.name = try r.string(f)
            case 20: try r.expect(f, WireField.varint); a.type = Int(truncatingIfNeeded: Int64(bitPattern: f.value))
            case 2: try r.expect(f, WireField.fixed32); a.f = Float(bitPattern: UInt32(truncatingIfNeeded: f.value))
            case 3: try r.expect(f, WireField.varint); a.i = Int64(bitPattern: f.value)
            case 4: a.s = try r.bytesOf(f)
            case 5: try r.expect(f, WireField.lengthDelimited); a.t = try tensor(f.payload, offset: f.offset, depth: depth)
            case 6: try r.expect(f, WireField.lengthDelimited); a.g = try graph(f.payload, depth: depth + 1)
            case 7: try r.appendFloats(f, to: &a.floats)
            case 8: try r.appendVarints(f, to: &a.ints)
            case 9: a.strings.append(try r.bytesOf(f))
            case 11: try r.expect(f, WireField.lengthDelimited); a.graphs.append(try graph(f.payload, depth: depth + 1))
            default: break
            }
        }
        return a
    }

    func tensor(_ range: Range<Int>, offset: Int, depth: Int) throws -> TensorProto {
        var t = TensorProto()
        t.offset = offset
        var r = WireReader(bytes, range: range, file: file, message: "TensorProto")
        while let f = try r.next() {
            switch f.field {
            case 1: try r.appendVarints(f, to: &t.dims)
            case 2: try r.expect(f, WireField.varint); t.dataType = Int(truncatingIfNeeded: Int64(bitPattern: f.value))
            case 8: t.name = try r.string(f)
            case 9: try r.expect(f, WireField.lengthDelimited); t.rawData = f.payload
            case 6: try r.expect(f, WireField.lengthDelimited); t.stringCount += 1
            case 3: try r.expect(f, WireField.lengthDelimited); t.hasSegment = true
            case TensorProto.floatData, TensorProto.int32Data, TensorProto.int64Data, TensorProto.doubleData, TensorProto.uint64Data:
                t.typed.append(f)
            case 13: try r.expect(f, WireField.lengthDelimited); t.externalData.append(try entry(f.payload, message: "TensorProto.external_data"))
            case 14: try r.expect(f, WireField.varint); t.dataLocation = Int(truncatingIfNeeded: Int64(bitPattern: f.value))
            default: break
            }
        }
        return t
    }

    func valueInfo(_ range: Range<Int>) throws -> ONNXValueInfo {
        var v = ONNXValueInfo(name: "", elementType: 0, shape: nil, isTensor: false)
        var r = WireReader(bytes, range: range, file: file, message: "ValueInfoProto")
        while let f = try r.next() {
            switch f.field {
            case 1: v.name = try r.string(f)
            case 2:
                try r.expect(f, WireField.lengthDelimited)
                var tr = WireReader(bytes, range: f.payload, file: file, message: "TypeProto")
                while let tf = try tr.next() {
                    guard tf.field == 1 else { continue }
                    try tr.expect(tf, WireField.lengthDelimited)
                    v.isTensor = true
                    try tensorType(tf.payload, into: &v)
                }
            default: break
            }
        }
        return v
    }

    func tensorType(_ range: Range<Int>, into v: inout ONNXValueInfo) throws {
        var r = WireReader(bytes, range: range, file: file, message: "TypeProto.Tensor")
        while let f = try r.next() {
            switch f.field {
            case 1: try r.expect(f, WireField.varint); v.elementType = Int(truncatingIfNeeded: Int64(bitPattern: f.value))
            case 2:
                try r.expect(f, WireField.lengthDelimited)
                var dims: [ONNXDim] = []
                var sr = WireReader(bytes, range: f.payload, file: file, message: "TensorShapeProto")
                while let df = try sr.next() {
                    guard df.field == 1 else { continue }
                    try sr.expect(df, WireField.lengthDelimited)
                    var dim = ONNXDim.unknown
                    var dr = WireReader(bytes, range: df.payload, file: file, message: "TensorShapeProto.Dimension")
                    while let x = try dr.next() {
                        switch x.field {
                        case 1: try dr.expect(x, WireField.varint); dim = .value(Int64(bitPattern: x.value))
                        case 2: dim = .param(try dr.string(x))
                        default: break
                        }
                    }
                    dims.append(dim)
                }
                v.shape = dims
            default: break
            }
        }
    }
}
