/// A tensor shape: dimension sizes, outermost first. A 0-dim (scalar) shape is `[]`.
public struct Shape: Sendable, Hashable, Codable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }
    public init(arrayLiteral elements: Int...) { self.dims = elements }

    public var rank: Int { dims.count }

    /// Element count, or nil if it overflows `Int` or a dimension is negative.
    public var elementCount: Int? {
        var total = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (p, o) = total.multipliedReportingOverflow(by: d)
            if o { return nil }
            total = p
        }
        return total
    }

    /// Row-major (C order) strides in elements.
    public var contiguousStrides: [Int] {
        var strides = [Int](repeating: 1, count: dims.count)
        var acc = 1
        for i in stride(from: dims.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc = acc &* max(dims[i], 1)
        }
        return strides
    }

    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }

    public init(from decoder: Decoder) throws {
        dims = try decoder.singleValueContainer().decode([Int].self)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(dims)
    }
}
