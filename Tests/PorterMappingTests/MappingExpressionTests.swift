import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterMapping

/// The expression grammar of mapping steps (docs/mappings.md#expressions): parsing with
/// columns, checked exact arithmetic, variables with alternatives, and the errors that name
/// the file, rule, field and variable.
@Suite struct MappingExpressionTests {
    let config: JSONValue = ["num_attention_heads": 4, "hidden_size": 16, "name": "x", "ratio": 0.5,
                             "text_config": ["num_attention_heads": 6]]

    func value(_ text: String, dims: [Int] = [16, 8], variables: [String: MappingVariable] = [:]) throws -> Int {
        try ExpressionScope(dims: dims, variables: variables, config: config).evaluate(try MappingExpression.parse(text))
    }

    func variable(_ name: String, _ alternatives: [String]) throws -> MappingVariable {
        MappingVariable(name: name, alternatives: try alternatives.map { try MappingExpression.parse($0) }, texts: alternatives)
    }

    @Test(arguments: [
        ("2 + 3 * 4", 14), ("(2 + 3) * 4", 20), ("20 - 6 - 4", 10), ("64 / 4 / 2", 8), ("d0 / num_attention_heads / 2", 2),
        ("dims[1] * 2", 16), ("d0·d1", 128), ("d0 × 2 ÷ 4 − 1", 7), ("hidden_size/num_attention_heads", 4),
        ("text_config.num_attention_heads", 6), ("  ( ( d1 ) )  ", 8), ("0", 0),
    ])
    func evaluates(text: String, expected: Int) throws {
        #expect(try value(text) == expected)
    }

    @Test(arguments: [
        ("", 1, "empty expression"), ("heads *", 8, "after '*', found the end"), ("(d0 + 1", 8, "expected ')' to close the '(' at column 1"),
        ("heads $ 2", 7, "unexpected '$'"), ("dims[x]", 6, "dim index"), ("dims", 5, "dims must be indexed"), ("2 3", 3, "unexpected '3'"),
        ("4 / * 2", 5, "after '/'"), ("99999999999999999999", 1, "too large"), ("d0 + -1", 6, "found '-'"),
    ])
    func syntaxErrorsSayWhere(text: String, column: Int, reason: String) {
        do {
            _ = try MappingExpression.parse(text)
            Issue.record("\(text) parsed")
        } catch let e as ExpressionSyntaxError {
            #expect(e.column == column, "\(text): \(e)")
            #expect(e.reason.contains(reason), "\(text): \(e.reason)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let text = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
        #expect(throws: ExpressionSyntaxError.self) { try MappingExpression.parse(text) }
    }

    @Test(arguments: [
        ("d0 / 3", ExpressionError.inexactDivision(dividend: 16, divisor: 3, remainder: 1)),
        ("d0 / (d1 - 8)", .divisionByZero(dividend: 16)),
        ("heads", .missingVariable(name: "heads", tried: ["heads"])),
        ("name * 2", .notAnInteger(name: "name", found: "the string \"x\"")),
        ("ratio", .notAnInteger(name: "ratio", found: "the number 0.5")),
        ("d2", .dimOutOfRange(index: 2, rank: 2)),
        ("9223372036854775807 + 1", .overflow(operation: "9223372036854775807 + 1")),
        ("3037000500 * 3037000500", .overflow(operation: "3037000500 * 3037000500")),
    ])
    func evaluationErrorsAreTyped(text: String, expected: ExpressionError) {
        #expect(throws: expected) { _ = try value(text) }
    }

    @Test func negativeDimensionsAreRefused() throws {
        let scope = ExpressionScope(dims: [2], variables: [:], config: [:])
        #expect(throws: ExpressionError.negativeDimension(value: -1)) { try scope.dimension(try MappingExpression.parse("d0 - 3")) }
    }

    @Test func variablesTryTheirAlternativesInOrder() throws {
        let vars = [
            "kv": try variable("kv", ["num_key_value_heads", "num_attention_heads"]),
            "m": try variable("m", ["depth_multiplier", "1"]),
            "head_dim": try variable("head_dim", ["hidden_size / kv"]),
            "gone": try variable("gone", ["a_field", "another_field"]),
        ]
        #expect(try value("kv", variables: vars) == 4)       // falls back to num_attention_heads
        #expect(try value("m", variables: vars) == 1)        // a literal default
        #expect(try value("head_dim * kv", variables: vars) == 16)
        #expect(throws: ExpressionError.missingVariable(name: "gone", tried: ["a_field", "another_field"])) {
            _ = try value("gone + 1", variables: vars)
        }
        // A variable's name wins over a config field of that name; an inexact division is not "missing".
        let shadow = ["hidden_size": try variable("hidden_size", ["d0 / 3", "2"])]
        #expect(throws: ExpressionError.inexactDivision(dividend: 16, divisor: 3, remainder: 1)) { _ = try value("hidden_size", variables: shadow) }
    }

    func parse(_ json: String, path: String = "v.json") throws -> Mapping {
        try Mapping.parse(Data(json.utf8), path: path)
    }

    func file(variables: String = "{}", rules: String) -> String {
        #"{"format": "porter-mapping/1", "name": "v", "variables": "# + variables + #", "rules": ["# + rules + "]}"
    }

    /// File errors name the file, the rule, the field and the column.
    @Test(arguments: [
        (#"{"match": "a", "keep": true}, {"match": "b", "rename": "c", "reshape": ["heads", "d0 / (heads"]}"#,
         #"v.json: rules[1]: reshape[1] "d0 / (heads": column 12: expected ')' to close the '(' at column 6"#),
        (#"{"match": "b", "keep": true, "steps": [{"transpose": [1, 0]}, {"reshape": ["d0 *"]}]}"#,
         #"v.json: rules[0]: steps[1].reshape[0] "d0 *": column 5: expected a number, a name, dims[i] or '(' after '*', found the end"#),
        (#"{"match": "b", "keep": true, "steps": [{"transpose": [1, 1]}]}"#, "steps[0].transpose [1, 1] is not a permutation"),
        (#"{"match": "b", "keep": true, "steps": [{"reshape": ["d0", 2, 3]}, {"transpose": [1, 0]}]}"#, "permutes 2 axes, but the reshape before it gives 3"),
        (#"{"match": "b", "keep": true, "steps": [{"flip": [0]}]}"#, "unknown step \"flip\""),
        (#"{"match": "b", "keep": true, "steps": [{"reshape": [1]}], "transpose": [0]}"#, "\"steps\" replaces \"transpose\" and \"reshape\""),
        (#"{"match": "b", "keep": true, "steps": [{"reshape": [1.5]}]}"#, "steps[0].reshape[0] must be an integer or an expression string"),
        (#"{"match": "b", "keep": true, "steps": []}"#, "must be a non-empty array"),
        (#"{"match": "b", "split": {"axis": 0, "into": ["x"]}, "steps": [{"reshape": [1]}]}"#, "goes only with rename or keep"),
    ])
    func malformedStepsNameTheRuleAndColumn(rules: String, message: String) {
        do {
            _ = try parse(file(rules: rules))
            Issue.record("parsed: \(rules)")
        } catch {
            let text = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            #expect(text.contains(message), "\(text)")
        }
    }

    @Test(arguments: [
        (#"{"heads": "num_attention_heads", "head_dim": "hidden_size / (heads"}"#, #"v.json: variables.head_dim "hidden_size / (heads": column 21"#),
        (#"{"a": "b + 1", "b": ["c", "a * 2"], "c": "zz"}"#, "v.json: variables.a: refers to itself: a → b → a"),
        (#"{"d0": "hidden_size"}"#, "v.json: variables.d0: a variable's name must be"),
        (#"{"dims": 3}"#, "variables.dims: a variable's name must be"),
        (#"{"a.b": 3}"#, "variables.a.b: a variable's name must be"),
        (#"{"x": []}"#, "variables.x: an empty list"),
        (#"{"x": true}"#, "variables.x: variables.x must be an integer or an expression string"),
        (#"{"x": ["1", "2 +"]}"#, #"variables.x[1] "2 +": column 4"#),
        (#"["heads"]"#, "\"variables\" must be an object"),
    ])
    func malformedVariablesAreRefused(variables: String, message: String) {
        do {
            _ = try parse(file(variables: variables, rules: #"{"match": "a", "keep": true}"#))
            Issue.record("parsed: \(variables)")
        } catch {
            let text = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            #expect(text.contains(message), "\(text)")
        }
    }

    func single(_ name: String, _ dims: [Int], config: JSONValue) throws -> NeutralModel {
        var store = TensorStore()
        try store.add(TensorEntry(name: name, tensor: counting(dims, label: name), provenance: Provenance(sourceFile: "t", sourceName: name)))
        return NeutralModel(sourceFormat: "t", sourceFiles: ["t"], tensors: store, config: config)
    }

    let permuteRule = #"{"match": "^q$", "rename": "q2", "steps": [{"reshape": ["heads", 2, "d0 / heads / 2", "d1"]}, {"transpose": [0, 2, 1, 3]}, {"reshape": ["d0", "d1"]}]}"#

    @Test func stepsRecordTheirResolvedValuesAsTypedSteps() throws {
        let m = try parse(file(variables: #"{"heads": "num_attention_heads"}"#, rules: permuteRule))
        let (out, _) = try MappingEngine(m).apply(to: try single("q", [8, 3], config: ["num_attention_heads": 2]))
        let q = try #require(out.tensors["q2"])
        #expect(q.provenance.transforms == [.rename(from: "q", to: "q2"), .reshape(shape: [2, 2, 2, 3]), .transpose(perm: [0, 2, 1, 3]), .reshape(shape: [8, 3])])
        // Rows per head [r0 r1 r2 r3] → interleaved halves [r0 r2 r1 r3] (llama.cpp's permute for 2 heads of 4 rows).
        let rows = try q.tensor.floatValues().chunked(3).map { Int($0[0]) / 3 }
        #expect(rows == [0, 2, 1, 3, 4, 6, 5, 7])
    }

    @Test func aMissingVariableNamesTheRuleAndTheVariable() throws {
        let m = try parse(file(variables: #"{"heads": ["num_attention_heads", "n_heads"]}"#, rules: #"{"match": "^x$", "drop": "not this"}, "# + permuteRule))
        do {
            _ = try MappingEngine(m).apply(to: try single("q", [8, 3], config: ["hidden_size": 16]))
            Issue.record("mapped without the head count")
        } catch let error as MappingError {
            #expect(error == .expression(mapping: "v (v.json)", rule: 1, source: "q", field: "steps[0].reshape[0]", expression: "heads",
                                         error: .missingVariable(name: "heads", tried: ["num_attention_heads", "n_heads"])))
            let text = error.localizedDescription
            #expect(text.contains("rules[1] on q") && text.contains("variable heads") && text.contains("num_attention_heads, n_heads"), "\(text)")
        }
    }

    @Test func anInexactDivisionNamesTheRule() throws {
        let m = try parse(file(variables: #"{"heads": "num_attention_heads"}"#, rules: permuteRule))
        #expect(throws: MappingError.expression(mapping: "v (v.json)", rule: 0, source: "q", field: "steps[0].reshape[2]", expression: "d0 / heads / 2",
                                                error: .inexactDivision(dividend: 3, divisor: 2, remainder: 1))) {
            _ = try MappingEngine(m).apply(to: try single("q", [9, 3], config: ["num_attention_heads": 3]))
        }
    }

    @Test func aReshapeWithExpressionsBesideATransposeAppliesInOrder() throws {
        // The depthwise rule's shape: transpose [2, 3, 0, 1], then reshape from the source dims.
        let m = try parse(file(rules: #"{"match": "^k$", "rename": "w", "transpose": [2, 3, 0, 1], "reshape": ["d2 * d3", 1, "d0", "d1"]}"#))
        #expect(m.rules[0].shapeSteps == [.transpose([2, 3, 0, 1]), .reshape([
            WrittenExpression(field: "reshape[0]", text: "d2 * d3", expression: .binary(.multiply, .dim(2), .dim(3))),
            WrittenExpression(field: "reshape[1]", text: "1", expression: .number(1)),
            WrittenExpression(field: "reshape[2]", text: "d0", expression: .dim(0)),
            WrittenExpression(field: "reshape[3]", text: "d1", expression: .dim(1)),
        ])])
        let (out, _) = try MappingEngine(m).apply(to: try single("k", [3, 2, 4, 5], config: [:]))
        let w = try #require(out.tensors["w"])
        #expect(w.tensor.shape == [20, 1, 3, 2])
        #expect(w.provenance.transforms == [.rename(from: "k", to: "w"), .transpose(perm: [2, 3, 0, 1]), .reshape(shape: [20, 1, 3, 2])])
        // Literal-only rules keep their old representation.
        let literal = try parse(file(rules: #"{"match": "^k$", "keep": true, "transpose": [1, 0], "reshape": [6]}"#))
        #expect(literal.rules[0].shapeSteps == nil)
        #expect(literal.rules[0].action == .rename(to: nil, transpose: [1, 0], reshape: [6], cast: nil))
    }

    /// A fused qkv projection (Phi-3's qkv_proj) split by head counts: sizes from the config.
    @Test func splitSizesMayBeExpressions() throws {
        let m = try parse(file(variables: #"{"heads": "num_attention_heads", "kv": "num_key_value_heads", "head_dim": "hidden_size / heads"}"#,
                               rules: #"{"match": "^qkv$", "split": {"axis": 0, "sizes": ["heads * head_dim", "kv * head_dim", "kv * head_dim"], "into": ["q", "k", "v"]}}"#))
        #expect(m.rules[0].action == .split(axis: 0, into: ["q", "k", "v"], sizes: nil))
        #expect(m.rules[0].splitSizes?.map(\.text) == ["heads * head_dim", "kv * head_dim", "kv * head_dim"])
        let config: JSONValue = ["num_attention_heads": 4, "num_key_value_heads": 2, "hidden_size": 8]
        let (out, _) = try MappingEngine(m).apply(to: try single("qkv", [16, 1], config: config))
        #expect(try out.tensors["q"]!.tensor.floatValues() == (0..<8).map(Float.init))
        #expect(try out.tensors["k"]!.tensor.floatValues() == (8..<12).map(Float.init))
        #expect(try out.tensors["v"]!.tensor.floatValues() == (12..<16).map(Float.init))
        #expect(out.tensors["v"]!.provenance.transforms == [.split(axis: 0, sizes: [8, 4, 4], index: 2, count: 3, into: "v")])
        // Sizes that do not add up to the axis fail naming the rule; a malformed one names its column.
        #expect(throws: MappingError.self) { _ = try MappingEngine(m).apply(to: try single("qkv", [18, 1], config: config)) }
        #expect(throws: MappingFileError.invalidExpression(path: "v.json", rule: 0, field: "split.sizes[1]", expression: "kv *", column: 5,
                                                           reason: "expected a number, a name, dims[i] or '(' after '*', found the end")) {
            _ = try parse(file(rules: #"{"match": "^qkv$", "split": {"axis": 0, "sizes": [8, "kv *"], "into": ["q", "k"]}}"#))
        }
    }

    /// A Keras depthwise conv node follows keras-to-pytorch: OIHW with groups = input channels.
    @Test func theGraphFollowsADepthwiseKernelRegrouped() throws {
        var store = TensorStore()
        for (name, dims) in [("dw/dw/depthwise_kernel:0", [3, 2, 4, 2]), ("dw/dw/bias:0", [8])] {
            try store.add(TensorEntry(name: name, tensor: counting(dims, label: name), provenance: Provenance(sourceFile: "k.h5", sourceName: name)))
        }
        let node = GraphNode(name: "dw", op: "conv2d", inputs: ["x", "dw/dw/depthwise_kernel:0", "dw/dw/bias:0"], outputs: ["y"],
                             attributes: ["kernel_layout": "HWIM", "padding": "valid"])
        let graph = Graph(inputs: [GraphValue(name: "x", dtype: .f32, shape: [-1, 5, 6, 4])], outputs: [GraphValue(name: "y", dtype: .f32, shape: [-1, 3, 5, 8])],
                          nodes: [node], origin: "test")
        let model = NeutralModel(sourceFormat: "test", sourceFiles: ["k.h5"], tensors: store, graph: graph)
        let (out, acct) = try MappingEngine(try Mapping.resolve("keras-to-pytorch", searchPaths: [])).apply(to: model)
        #expect(acct.graphDropped == nil)
        let rewritten = try #require(out.graph?.nodes.first)
        #expect(rewritten.inputs == ["x", "dw.weight", "dw.bias"])
        #expect(rewritten.attributes["kernel_layout"] == "OIHW")
        #expect(rewritten.attributes["groups"] == 4)
        #expect(rewritten.attributes["data_format"] == "channels_last")
        #expect(out.tensors["dw.weight"]?.tensor.shape == [8, 1, 3, 2])

        // Any other reshape of a weight the graph reads still drops the graph, saying why.
        let other = try parse(file(rules: #"{"match": "^dw/dw/depthwise_kernel:0$", "rename": "dw.weight", "transpose": [2, 3, 0, 1], "reshape": [4, 2, "d0 * d1"]}, {"match": "^dw/dw/bias:0$", "rename": "dw.bias"}"#))
        let (_, dropped) = try MappingEngine(other).apply(to: model)
        #expect(dropped.graphDropped?.contains("reshapes to [4, 2, 6]") == true, "\(dropped.graphDropped ?? "kept")")
    }
}

extension Array {
    func chunked(_ n: Int) -> [[Element]] {
        stride(from: 0, to: count, by: n).map { Array(self[$0..<Swift.min($0 + n, count)]) }
    }
}
