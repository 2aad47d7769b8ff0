import Foundation
import PorterCore

/// An integer expression in a mapping step, such as `"d0 / heads / 2"` in a reshape
/// (grammar in `docs/mappings.md#expressions`). Names are the tensor's own dims (`d0`,
/// `dims[1]`), the mapping's `variables`, or integer fields of the model's config.
/// Arithmetic is checked: overflow, division by zero and division with a remainder are
/// errors, never a rounded or wrapped value.
public indirect enum MappingExpression: Sendable, Equatable, CustomStringConvertible {
    case number(Int)
    /// A mapping variable or a config field (a key, or a dotted key path).
    case name(String)
    /// Dimension `index` of the tensor the rule matched (`d0`, `dims[0]`).
    case dim(Int)
    case binary(Operator, MappingExpression, MappingExpression)

    public enum Operator: String, Sendable, Equatable {
        case add = "+", subtract = "-", multiply = "*", divide = "/"
    }

    public var description: String {
        switch self {
        case let .number(n): return String(n)
        case let .name(s): return s
        case let .dim(i): return "d\(i)"
        case let .binary(op, l, r): return "(\(l) \(op.rawValue) \(r))"
        }
    }

    /// Names of variables or config fields the expression reads.
    public var names: Set<String> {
        switch self {
        case .number, .dim: return []
        case let .name(s): return [s]
        case let .binary(_, l, r): return l.names.union(r.names)
        }
    }
}

/// Why an expression's text does not parse: the 1-based character column and the reason.
public struct ExpressionSyntaxError: Error, Sendable, Equatable {
    public var column: Int
    public var reason: String
}

/// Why an expression could not be evaluated for a tensor.
public enum ExpressionError: Error, Sendable, Equatable {
    /// No dim, variable or config field has this name; `tried` lists the config fields looked up.
    case missingVariable(name: String, tried: [String])
    /// The config field exists but is not an integer.
    case notAnInteger(name: String, found: String)
    case inexactDivision(dividend: Int, divisor: Int, remainder: Int)
    case divisionByZero(dividend: Int)
    case overflow(operation: String)
    case dimOutOfRange(index: Int, rank: Int)
    /// A value used as a dimension came out negative.
    case negativeDimension(value: Int)
    /// Variables that refer to each other in a circle (also refused when the file is read).
    case cycle(names: [String])
}

extension ExpressionError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .missingVariable(name, tried):
            let fields = tried.isEmpty || tried == [name] ? "" : " (looked for config field\(tried.count > 1 ? "s" : "") \(tried.joined(separator: ", ")))"
            return "variable \(name) is not a dim of the tensor, a variable of the mapping or an integer field of the model's config\(fields); add it to the config or declare it in \"variables\""
        case let .notAnInteger(name, found):
            return "config field \(name) is \(found), not an integer"
        case let .inexactDivision(a, b, r):
            return "\(a) / \(b) leaves a remainder of \(r); division in a mapping must be exact"
        case let .divisionByZero(a):
            return "\(a) / 0: division by zero"
        case let .overflow(op):
            return "\(op) overflows a 64-bit integer"
        case let .dimOutOfRange(i, rank):
            return "d\(i) does not exist: the tensor has rank \(rank)"
        case let .negativeDimension(v):
            return "the dimension is \(v), negative"
        case let .cycle(names):
            return "variables refer to each other in a circle: \(names.joined(separator: " → "))"
        }
    }
}

/// A variable a mapping declares (`"variables": {"heads": "num_attention_heads"}`): its
/// value is the first alternative whose names all resolve, so `["num_key_value_heads",
/// "num_attention_heads"]` tolerates configs that lack the first field, and a trailing
/// number is a default.
public struct MappingVariable: Sendable, Equatable {
    public var name: String
    public var alternatives: [MappingExpression]
    /// The alternatives as written, for messages.
    public var texts: [String]
}

/// One expression as written in a mapping file, with where it was.
public struct WrittenExpression: Sendable, Equatable {
    /// Where in the rule it stood, e.g. `reshape[2]` or `steps[0].reshape[1]`.
    public var field: String
    public var text: String
    public var expression: MappingExpression
}

extension MappingExpression {
    /// Parses `text`:
    ///
    ///     sum     := product (("+" | "-" | "−") product)*
    ///     product := atom (("*" | "×" | "·" | "/" | "÷") atom)*
    ///     atom    := integer | name | "dims" "[" integer "]" | "(" sum ")"
    ///     name    := [A-Za-z_][A-Za-z0-9_]* ("." [A-Za-z_][A-Za-z0-9_]*)*
    ///
    /// `d<k>` and `dims[k]` are the tensor's dim `k`; other names are variables or config fields.
    public static func parse(_ text: String) throws -> MappingExpression {
        var p = ExpressionParser(Array(text))
        p.skipSpaces()
        guard !p.atEnd else { throw ExpressionSyntaxError(column: 1, reason: "empty expression") }
        let e = try p.sum()
        p.skipSpaces()
        if !p.atEnd { throw ExpressionSyntaxError(column: p.column, reason: "unexpected '\(p.chars[p.pos])' after a complete expression") }
        return e
    }

    /// Depth limit for parsing nested parentheses (untrusted mapping files must not overflow the stack).
    static let maxDepth = 64
}

struct ExpressionParser {
    let chars: [Character]
    var pos = 0
    var depth = 0

    init(_ chars: [Character]) { self.chars = chars }

    var atEnd: Bool { pos >= chars.count }
    var column: Int { pos + 1 }

    mutating func skipSpaces() {
        while pos < chars.count, chars[pos] == " " || chars[pos] == "\t" { pos += 1 }
    }

    mutating func sum() throws -> MappingExpression {
        var lhs = try product()
        while true {
            skipSpaces()
            guard !atEnd else { return lhs }
            let op: MappingExpression.Operator
            switch chars[pos] {
            case "+": op = .add
            case "-", "−": op = .subtract
            default: return lhs
            }
            pos += 1
            lhs = .binary(op, lhs, try product(after: op))
        }
    }

    mutating func product(after op: MappingExpression.Operator? = nil) throws -> MappingExpression {
        var lhs = try atom(after: op)
        while true {
            skipSpaces()
            guard !atEnd else { return lhs }
            let op: MappingExpression.Operator
            switch chars[pos] {
            case "*", "×", "·": op = .multiply
            case "/", "÷": op = .divide
            default: return lhs
            }
            pos += 1
            lhs = .binary(op, lhs, try atom(after: op))
        }
    }

    static func isNameStart(_ c: Character) -> Bool { c == "_" || (c.isASCII && c.isLetter) }
    static func isNameChar(_ c: Character) -> Bool { isNameStart(c) || (c.isASCII && c.isNumber) }

    mutating func integer() throws -> Int {
        let start = pos
        while pos < chars.count, chars[pos].isASCII, chars[pos].isNumber { pos += 1 }
        guard let n = Int(String(chars[start..<pos])) else {
            throw ExpressionSyntaxError(column: start + 1, reason: "integer \(String(chars[start..<pos])) is too large")
        }
        return n
    }

    mutating func atom(after op: MappingExpression.Operator?) throws -> MappingExpression {
        skipSpaces()
        let what = "expected a number, a name, dims[i] or '('" + (op.map { " after '\($0.rawValue)'" } ?? "")
        guard !atEnd else { throw ExpressionSyntaxError(column: column, reason: what + ", found the end") }
        let c = chars[pos]
        if c == "(" {
            let open = column
            depth += 1
            guard depth <= MappingExpression.maxDepth else {
                throw ExpressionSyntaxError(column: open, reason: "parentheses nested deeper than \(MappingExpression.maxDepth)")
            }
            pos += 1
            let inner = try sum()
            skipSpaces()
            guard !atEnd, chars[pos] == ")" else {
                throw ExpressionSyntaxError(column: column, reason: "expected ')' to close the '(' at column \(open)")
            }
            pos += 1
            depth -= 1
            return inner
        }
        if c.isASCII, c.isNumber { return .number(try integer()) }
        guard Self.isNameStart(c) else { throw ExpressionSyntaxError(column: column, reason: what + ", found '\(c)'") }
        let start = pos
        while pos < chars.count {
            if Self.isNameChar(chars[pos]) { pos += 1; continue }
            // A dot continues a key path only when a name follows it.
            if chars[pos] == ".", pos + 1 < chars.count, Self.isNameStart(chars[pos + 1]) { pos += 1; continue }
            break
        }
        let name = String(chars[start..<pos])
        if name == "dims" {
            skipSpaces()
            guard !atEnd, chars[pos] == "[" else {
                throw ExpressionSyntaxError(column: column, reason: "dims must be indexed: dims[0], dims[1], …")
            }
            pos += 1
            skipSpaces()
            guard !atEnd, chars[pos].isASCII, chars[pos].isNumber else {
                throw ExpressionSyntaxError(column: column, reason: "expected a dim index (0, 1, …) inside dims[ ]")
            }
            let i = try integer()
            skipSpaces()
            guard !atEnd, chars[pos] == "]" else { throw ExpressionSyntaxError(column: column, reason: "expected ']' after dims[\(i)") }
            pos += 1
            return .dim(i)
        }
        if name.count > 1, name.first == "d", let i = Int(name.dropFirst()), name.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }) {
            return .dim(i)
        }
        return .name(name)
    }
}

/// Evaluates expressions for one tensor: its dims, the mapping's variables, the model's config.
struct ExpressionScope {
    var dims: [Int]
    var variables: [String: MappingVariable]
    var config: JSONValue

    func evaluate(_ e: MappingExpression) throws -> Int {
        var visiting: [String] = []
        return try evaluate(e, visiting: &visiting)
    }

    /// Evaluates an expression used as a dimension (non-negative).
    func dimension(_ e: MappingExpression) throws -> Int {
        let v = try evaluate(e)
        guard v >= 0 else { throw ExpressionError.negativeDimension(value: v) }
        return v
    }

    private func evaluate(_ e: MappingExpression, visiting: inout [String]) throws -> Int {
        switch e {
        case let .number(n):
            return n
        case let .dim(i):
            guard i < dims.count else { throw ExpressionError.dimOutOfRange(index: i, rank: dims.count) }
            return dims[i]
        case let .name(n):
            return try resolve(n, visiting: &visiting)
        case let .binary(op, l, r):
            let a = try evaluate(l, visiting: &visiting)
            let b = try evaluate(r, visiting: &visiting)
            switch op {
            case .add:
                let (v, o) = a.addingReportingOverflow(b)
                if o { throw ExpressionError.overflow(operation: "\(a) + \(b)") }
                return v
            case .subtract:
                let (v, o) = a.subtractingReportingOverflow(b)
                if o { throw ExpressionError.overflow(operation: "\(a) - \(b)") }
                return v
            case .multiply:
                let (v, o) = a.multipliedReportingOverflow(by: b)
                if o { throw ExpressionError.overflow(operation: "\(a) * \(b)") }
                return v
            case .divide:
                guard b != 0 else { throw ExpressionError.divisionByZero(dividend: a) }
                let (q, o) = a.dividedReportingOverflow(by: b)
                if o { throw ExpressionError.overflow(operation: "\(a) / \(b)") }
                let r = a - q * b
                guard r == 0 else { throw ExpressionError.inexactDivision(dividend: a, divisor: b, remainder: r) }
                return q
            }
        }
    }

    private func resolve(_ name: String, visiting: inout [String]) throws -> Int {
        if let variable = variables[name] {
            if let i = visiting.firstIndex(of: name) { throw ExpressionError.cycle(names: Array(visiting[i...]) + [name]) }
            visiting.append(name)
            defer { visiting.removeLast() }
            var tried: [String] = []
            for alternative in variable.alternatives {
                do {
                    return try evaluate(alternative, visiting: &visiting)
                } catch let ExpressionError.missingVariable(_, more) {
                    tried += more
                }
            }
            throw ExpressionError.missingVariable(name: name, tried: tried)
        }
        guard let value = Self.lookup(name, in: config) else {
            throw ExpressionError.missingVariable(name: name, tried: [name])
        }
        guard let n = value.intValue else {
            throw ExpressionError.notAnInteger(name: name, found: Self.describe(value))
        }
        return n
    }

    /// A config field by its key, or by its dotted key path (`text_config.num_attention_heads`).
    static func lookup(_ name: String, in config: JSONValue) -> JSONValue? {
        if let v = config[name], !v.isNull { return v }
        guard name.contains(".") else { return nil }
        var v: JSONValue? = config
        for key in name.split(separator: ".") { v = v?[String(key)] }
        return v.flatMap { $0.isNull ? nil : $0 }
    }

    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case let .bool(b): return "the boolean \(b)"
        case let .int(i): return "\(i)"
        case let .double(d): return "the number \(d)"
        case let .string(s): return "the string \(JSONValue.quoted(s))"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

// MARK: - Reading expressions from a mapping file

extension Mapping {
    /// Parses one expression of the file, turning a syntax error into a typed file error.
    static func expression(_ json: JSONValue, field: String, rule: Int, path: String) throws -> WrittenExpression {
        if let n = json.intValue, case .int = json { return WrittenExpression(field: field, text: String(n), expression: .number(n)) }
        guard let text = json.stringValue else {
            throw MappingFileError.invalidRule(path: path, rule: rule, reason: "\(field) must be an integer or an expression string")
        }
        do {
            return WrittenExpression(field: field, text: text, expression: try MappingExpression.parse(text))
        } catch let e as ExpressionSyntaxError {
            throw MappingFileError.invalidExpression(path: path, rule: rule, field: field, expression: text, column: e.column, reason: e.reason)
        }
    }

    /// The `"variables"` block: name → expression, or a list of alternatives tried in order.
    static func parseVariables(_ json: JSONValue?, path: String) throws -> [String: MappingVariable] {
        guard let json else { return [:] }
        guard let obj = json.objectValue else {
            throw MappingFileError.invalidRule(path: path, rule: -1, reason: "\"variables\" must be an object of name → expression")
        }
        var out: [String: MappingVariable] = [:]
        for (name, value) in obj {
            let chars = Array(name)
            let isDim = name == "dims" || (chars.count > 1 && chars[0] == "d" && chars.dropFirst().allSatisfy { $0.isASCII && $0.isNumber })
            guard let first = chars.first, ExpressionParser.isNameStart(first), chars.allSatisfy(ExpressionParser.isNameChar), !isDim else {
                throw MappingFileError.invalidVariable(path: path, name: name, reason: "a variable's name must be letters, digits and _, and not d0, d1, … or dims (the tensor's dims)")
            }
            let items = value.arrayValue ?? [value]
            guard !items.isEmpty else { throw MappingFileError.invalidVariable(path: path, name: name, reason: "an empty list of alternatives") }
            var written: [WrittenExpression] = []
            for (i, item) in items.enumerated() {
                let field = value.arrayValue == nil ? "variables.\(name)" : "variables.\(name)[\(i)]"
                guard item.stringValue != nil || (item.intValue != nil && { if case .int = item { return true }; return false }()) else {
                    throw MappingFileError.invalidVariable(path: path, name: name, reason: "\(field) must be an integer or an expression string")
                }
                written.append(try expression(item, field: field, rule: -1, path: path))
            }
            out[name] = MappingVariable(name: name, alternatives: written.map(\.expression), texts: written.map(\.text))
        }
        // Refuse circles now rather than when a tensor first needs the variable.
        func visit(_ name: String, _ chain: [String]) throws {
            if let i = chain.firstIndex(of: name) {
                let circle = Array(chain[i...]) + [name]
                throw MappingFileError.invalidVariable(path: path, name: circle[0], reason: "refers to itself: \(circle.joined(separator: " → "))")
            }
            guard let v = out[name] else { return }
            for ref in v.alternatives.flatMap(\.names).sorted() { try visit(ref, chain + [name]) }
        }
        for name in out.keys.sorted() { try visit(name, []) }
        return out
    }

    /// A rename/keep's shape steps when it has `"steps"` or a `"reshape"` with expressions;
    /// nil for rules whose transpose and reshape are literal (kept in `Action.rename`).
    static func parseShapeSteps(_ obj: [String: JSONValue], rule: Int, path: String) throws -> [ShapeStep]? {
        func fail(_ reason: String) -> MappingFileError { .invalidRule(path: path, rule: rule, reason: reason) }
        func perm(_ json: JSONValue, field: String) throws -> [Int] {
            guard let a = json.arrayValue, case let ints = a.compactMap({ v -> Int? in if case .int = v { return v.intValue }; return nil }),
                  ints.count == a.count else {
                throw fail("\(field) must be an array of integers")
            }
            guard Set(ints) == Set(0..<ints.count), ints.count == Set(ints).count else {
                throw fail("\(field) \(ints) is not a permutation of 0..<\(ints.count)")
            }
            return ints
        }
        func reshape(_ json: JSONValue, field: String) throws -> [WrittenExpression] {
            guard let a = json.arrayValue, !a.isEmpty else { throw fail("\(field) must be a non-empty array of integers or expressions") }
            return try a.enumerated().map { i, v in
                guard v.stringValue != nil || { if case .int = v { return true }; return false }() else {
                    throw fail("\(field)[\(i)] must be an integer or an expression string")
                }
                return try expression(v, field: "\(field)[\(i)]", rule: rule, path: path)
            }
        }
        var steps: [ShapeStep] = []
        if let list = obj["steps"] {
            if obj["transpose"] != nil || obj["reshape"] != nil {
                throw fail("\"steps\" replaces \"transpose\" and \"reshape\"; list them inside steps, in order")
            }
            guard let items = list.arrayValue, !items.isEmpty else { throw fail("\"steps\" must be a non-empty array of {\"transpose\": […]} or {\"reshape\": […]}") }
            for (i, item) in items.enumerated() {
                guard let o = item.objectValue, o.count == 1, let (key, value) = o.first else {
                    throw fail("steps[\(i)] must be an object with one key, transpose or reshape")
                }
                switch key {
                case "transpose": steps.append(.transpose(try perm(value, field: "steps[\(i)].transpose")))
                case "reshape": steps.append(.reshape(try reshape(value, field: "steps[\(i)].reshape")))
                default: throw fail("steps[\(i)]: unknown step \"\(key)\" (transpose or reshape)")
                }
            }
        } else if let r = obj["reshape"], let a = r.arrayValue, a.contains(where: { $0.stringValue != nil }) {
            if let t = obj["transpose"] { steps.append(.transpose(try perm(t, field: "transpose"))) }
            steps.append(.reshape(try reshape(r, field: "reshape")))
        } else {
            return nil
        }
        // A transpose after a reshape must permute that reshape's axes.
        var rank: Int? = nil
        for (i, step) in steps.enumerated() {
            switch step {
            case let .reshape(dims): rank = dims.count
            case let .transpose(p):
                if let rank, p.count != rank {
                    throw fail("steps[\(i)].transpose \(p) permutes \(p.count) axes, but the reshape before it gives \(rank)")
                }
            }
        }
        return steps
    }
}
