import PorterCore

/// One positional input of an op.
public enum InputSpec: Sendable, Hashable {
    /// Must be present (a non-empty name).
    case required(String)
    /// May be omitted: `""` in its position, or left off when nothing required follows.
    case optional(String)
    /// One or more inputs (last in the list).
    case variadic(String)

    public var name: String {
        switch self {
        case let .required(n), let .optional(n), let .variadic(n): return n
        }
    }
}

/// The type an attribute's JSON value must have.
public enum AttributeType: Sendable, Hashable {
    case int
    /// Any JSON number.
    case number
    case bool
    /// A string; when `allowed` is not empty, one of those.
    case string(allowed: [String])
    /// A list of integers (a single integer counts as a one-element list).
    case ints
    /// A string from `allowed`, or a list of integers (convolution padding).
    case stringOrInts(allowed: [String])
    /// A list of numbers (a single number counts as a one-element list).
    case numbers

    var summary: String {
        switch self {
        case .int: return "an integer"
        case .number: return "a number"
        case .bool: return "true or false"
        case let .string(allowed) where allowed.isEmpty: return "a string"
        case let .string(allowed): return "one of " + allowed.map { "\"\($0)\"" }.joined(separator: ", ")
        case .ints: return "a list of integers"
        case let .stringOrInts(allowed): return allowed.map { "\"\($0)\"" }.joined(separator: ", ") + " or a list of integers"
        case .numbers: return "a list of numbers"
        }
    }
}

/// A decoded attribute value.
public enum AttributeValue: Sendable, Hashable {
    case int(Int)
    case number(Double)
    case bool(Bool)
    case string(String)
    case ints([Int])
    case numbers([Double])
}

/// What an attribute is when the node leaves it out.
public enum AttributeDefault: Sendable, Hashable {
    /// The node must set it.
    case required
    /// Left out means "not given" (the op's semantics say what that means, e.g. `perm` reversed).
    case absent
    /// Left out means this value.
    case value(AttributeValue)
}

/// A named, typed attribute with its default.
public struct AttributeSpec: Sendable, Hashable {
    public var name: String
    public var type: AttributeType
    public var defaultValue: AttributeDefault

    public init(_ name: String, _ type: AttributeType, default defaultValue: AttributeDefault = .absent) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
    }

    /// Decodes `json` (never null: JSON null counts as left out) as this attribute's type.
    func decode(_ json: JSONValue) -> AttributeValue? {
        switch type {
        case .int: return json.intValue.map(AttributeValue.int)
        case .number: return json.doubleValue.map(AttributeValue.number)
        case .bool: return json.boolValue.map(AttributeValue.bool)
        case let .string(allowed):
            guard let s = json.stringValue, allowed.isEmpty || allowed.contains(s) else { return nil }
            return .string(s)
        case .ints: return Self.ints(json).map(AttributeValue.ints)
        case let .stringOrInts(allowed):
            if let s = json.stringValue { return allowed.contains(s) ? .string(s) : nil }
            return Self.ints(json).map(AttributeValue.ints)
        case .numbers:
            if let d = json.doubleValue { return .numbers([d]) }
            guard let a = json.arrayValue else { return nil }
            let list = a.compactMap(\.doubleValue)
            return list.count == a.count ? .numbers(list) : nil
        }
    }

    private static func ints(_ json: JSONValue) -> [Int]? {
        if let i = json.intValue { return [i] }
        guard let a = json.arrayValue else { return nil }
        let list = a.compactMap(\.intValue)
        return list.count == a.count ? list : nil
    }
}

/// The static type of a graph value: compute element type (`f32` or `i64`, nil when not
/// known) and dims (-1 = dynamic; nil = rank not known).
public struct ValueType: Sendable, Hashable, CustomStringConvertible {
    public var dtype: DType?
    public var shape: [Int]?

    public init(dtype: DType?, shape: [Int]?) {
        self.dtype = dtype
        self.shape = shape
    }

    public static let unknown = ValueType(dtype: nil, shape: nil)

    /// The type a stored tensor has once the runtime loads it.
    public init(_ tensor: TensorRef) {
        self.init(dtype: ValueType.computeType(of: tensor.dtype), shape: tensor.shape.dims)
    }

    /// The runtime computes floats in float32 and integers (and bool) in int64.
    public static func computeType(of dtype: DType) -> DType? {
        switch dtype {
        case .f16, .bf16, .f32, .f64: return .f32
        case .bool, .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64: return .i64
        default: return nil
        }
    }

    public var rank: Int? { shape?.count }

    /// Element count when every dim is known.
    public var elementCount: Int? {
        guard let shape, shape.allSatisfy({ $0 >= 0 }) else { return nil }
        var n = 1
        for d in shape {
            let (p, o) = n.multipliedReportingOverflow(by: d)
            if o { return nil }
            n = p
        }
        return n
    }

    public var description: String {
        let d = dtype?.rawValue ?? "?"
        guard let shape else { return "\(d)[…]" }
        return "\(d)[" + shape.map { $0 < 0 ? "?" : String($0) }.joined(separator: ", ") + "]"
    }
}

/// What an op's shape inference sees: the node, its decoded attributes, and the types of
/// its inputs (nil for an omitted optional input).
public struct InferenceContext: Sendable {
    public let node: GraphNode
    public let attributes: OpAttributes
    public let inputs: [ValueType?]

    /// Input `i` (which the spec makes present), or `.unknown`.
    public func input(_ i: Int) -> ValueType { i < inputs.count ? inputs[i] ?? .unknown : .unknown }
    public func has(_ i: Int) -> Bool { i < inputs.count && inputs[i] != nil }

    /// A certain mismatch, naming the node, the op and the input types.
    public func mismatch(_ detail: String) -> OpError {
        .shapeMismatch(node: node.name, op: node.op, detail: detail, inputs: inputs.map { $0?.description ?? "–" })
    }

    /// An input whose element type the op cannot take.
    public func dtypeError(_ i: Int, _ detail: String) -> OpError {
        .wrongInputType(node: node.name, op: node.op, input: i < node.inputs.count ? node.inputs[i] : "#\(i)", detail: detail)
    }

    /// Input `i` must be float32 when its type is known.
    public func requireFloat(_ i: Int) throws {
        if let d = input(i).dtype, d != .f32 { throw dtypeError(i, "must be floating point, is \(d.rawValue)") }
    }

    /// Normalises a possibly negative axis against a known rank; out of range is an error.
    public func axis(_ a: Int, rank: Int, attribute: String = "axis", inclusive: Bool = false) throws -> Int {
        let r = a < 0 ? a + rank : a
        let upper = inclusive ? rank : max(rank - 1, 0)
        guard r >= 0, r <= upper else {
            throw OpError.badAttribute(node: node.name, op: node.op, attribute: attribute, detail: "\(a) is out of range for rank \(rank)")
        }
        return r
    }

    public func badAttribute(_ attribute: String, _ detail: String) -> OpError {
        .badAttribute(node: node.name, op: node.op, attribute: attribute, detail: detail)
    }
}

/// An op of the neutral op set (`docs/ops.md`): its inputs, typed attributes with
/// defaults, and output type inference.
public struct OpSpec: Sendable {
    public typealias Infer = @Sendable (InferenceContext) throws -> [ValueType]

    public let name: String
    public let inputs: [InputSpec]
    public let attributes: [AttributeSpec]
    public let infer: Infer

    public init(name: String, inputs: [InputSpec], attributes: [AttributeSpec] = [], infer: @escaping Infer) {
        self.name = name
        self.inputs = inputs
        self.attributes = attributes
        self.infer = infer
    }

    public func attribute(_ name: String) -> AttributeSpec? { attributes.first { $0.name == name } }

    /// Decodes `node.attributes` once: an unknown attribute, a wrong-typed one and a missing
    /// required one are errors naming the node.
    public func decodeAttributes(of node: GraphNode) throws -> OpAttributes {
        var values: [String: AttributeValue] = [:]
        for key in node.attributes.keys.sorted() {
            guard let spec = attribute(key) else {
                throw OpError.unknownAttribute(node: node.name, op: name, attribute: key, known: attributes.map(\.name))
            }
            let json = node.attributes[key]!
            if json.isNull { continue }
            guard let v = spec.decode(json) else {
                throw OpError.wrongAttributeType(node: node.name, op: name, attribute: key, expected: spec.type.summary, found: json.compactDescription)
            }
            values[key] = v
        }
        for spec in attributes where values[spec.name] == nil {
            switch spec.defaultValue {
            case .required: throw OpError.missingAttribute(node: node.name, op: name, attribute: spec.name)
            case .absent: break
            case let .value(v): values[spec.name] = v
            }
        }
        return OpAttributes(node: node.name, op: name, declared: Set(attributes.map(\.name)), values: values)
    }

    /// Checks the node's input list against `inputs`: counts, and `""` only where optional.
    public func checkInputs(of node: GraphNode) throws {
        let n = node.inputs.count
        if let last = inputs.last, case .variadic = last {
            let fixed = inputs.count - 1
            guard n >= inputs.count else {
                throw OpError.wrongInputCount(node: node.name, op: name, expected: "at least \(inputs.count)", got: n)
            }
            for i in 0..<n where node.inputs[i].isEmpty && (i >= fixed || isRequired(i)) {
                throw OpError.missingInput(node: node.name, op: name, input: i >= fixed ? last.name : inputs[i].name)
            }
            return
        }
        let lastRequired = inputs.lastIndex { if case .required = $0 { return true } else { return false } } ?? -1
        guard n >= lastRequired + 1, n <= inputs.count else {
            let low = lastRequired + 1
            throw OpError.wrongInputCount(node: node.name, op: name, expected: low == inputs.count ? "\(low)" : "\(low)–\(inputs.count)", got: n)
        }
        for i in 0..<n where node.inputs[i].isEmpty && isRequired(i) {
            throw OpError.missingInput(node: node.name, op: name, input: inputs[i].name)
        }
    }

    private func isRequired(_ i: Int) -> Bool {
        guard i < inputs.count else { return false }
        if case .required = inputs[i] { return true }
        return false
    }
}

/// A node's attributes decoded by its op's spec. Reading an attribute the spec does not
/// declare throws `OpError.undeclaredAttribute` (a programming error, caught by the tests
/// that run every kernel); a declared one left out without a default reads as nil.
public struct OpAttributes: Sendable, Hashable {
    public let node: String
    public let op: String
    private let declared: Set<String>
    private let values: [String: AttributeValue]

    init(node: String, op: String, declared: Set<String>, values: [String: AttributeValue]) {
        self.node = node
        self.op = op
        self.declared = declared
        self.values = values
    }

    /// The decoded value, nil when left out with no default.
    public func value(_ name: String) throws -> AttributeValue? {
        guard declared.contains(name) else { throw OpError.undeclaredAttribute(op: op, attribute: name) }
        return values[name]
    }

    /// Whether the node set (or the spec defaulted) the attribute.
    public func isSet(_ name: String) throws -> Bool { try value(name) != nil }

    public func optionalInt(_ name: String) throws -> Int? {
        guard let v = try value(name) else { return nil }
        guard case let .int(i) = v else { throw wrongAccess(name, "int") }
        return i
    }

    public func int(_ name: String) throws -> Int {
        guard let i = try optionalInt(name) else { throw OpError.missingAttribute(node: node, op: op, attribute: name) }
        return i
    }

    public func optionalInts(_ name: String) throws -> [Int]? {
        guard let v = try value(name) else { return nil }
        guard case let .ints(l) = v else { throw wrongAccess(name, "ints") }
        return l
    }

    public func ints(_ name: String) throws -> [Int] {
        guard let l = try optionalInts(name) else { throw OpError.missingAttribute(node: node, op: op, attribute: name) }
        return l
    }

    public func optionalNumbers(_ name: String) throws -> [Double]? {
        guard let v = try value(name) else { return nil }
        guard case let .numbers(l) = v else { throw wrongAccess(name, "numbers") }
        return l
    }

    public func number(_ name: String) throws -> Double {
        guard let v = try value(name) else { throw OpError.missingAttribute(node: node, op: op, attribute: name) }
        guard case let .number(d) = v else { throw wrongAccess(name, "number") }
        return d
    }

    public func bool(_ name: String) throws -> Bool {
        guard let v = try value(name) else { throw OpError.missingAttribute(node: node, op: op, attribute: name) }
        guard case let .bool(b) = v else { throw wrongAccess(name, "bool") }
        return b
    }

    public func optionalString(_ name: String) throws -> String? {
        guard let v = try value(name) else { return nil }
        guard case let .string(s) = v else { throw wrongAccess(name, "string") }
        return s
    }

    public func string(_ name: String) throws -> String {
        guard let s = try optionalString(name) else { throw OpError.missingAttribute(node: node, op: op, attribute: name) }
        return s
    }

    private func wrongAccess(_ name: String, _ asked: String) -> OpError {
        .undeclaredAttribute(op: op, attribute: "\(name) (read as \(asked), declared otherwise)")
    }
}

extension JSONValue {
    /// Short JSON-ish text for error messages.
    var compactDescription: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return String(b)
        case let .int(i): return String(i)
        case let .double(d): return String(d)
        case let .string(s): return "\"\(s)\""
        case let .array(a): return "[" + a.prefix(8).map(\.compactDescription).joined(separator: ", ") + (a.count > 8 ? ", …" : "") + "]"
        case .object: return "{…}"
        }
    }
}
