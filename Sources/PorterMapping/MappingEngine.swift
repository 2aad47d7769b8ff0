import Foundation
import PorterCore

/// What a mapping run did with every tensor.
public struct MappingAccounting: Sendable, Codable, Equatable {
    public struct Produced: Sendable, Codable, Equatable {
        public var target: String
        public var sources: [String]
        public var rule: Int?
    }
    public struct Unmapped: Sendable, Codable, Equatable {
        public var name: String
        public var byteCount: Int
    }
    public var mapping: String
    public var produced: [Produced] = []
    public var dropped: [DroppedTensor] = []
    /// Source tensors no rule matched (carried over as-is only with `allowUnmapped`).
    public var unmapped: [Unmapped] = []
    /// Why the model's graph was not carried over, when the mapping changed weights in a
    /// way the graph could not follow (see `GraphRewrite`); nil when it was kept or there was none.
    public var graphDropped: String? = nil
    /// Rules that matched nothing (worth knowing; not an error).
    public var unusedRules: [Int] = []
}

/// Failures applying a mapping to a model.
public enum MappingError: Error, Sendable, Equatable {
    case unmapped(mapping: String, names: [String])
    case duplicateTarget(mapping: String, target: String, rules: [Int])
    case missingPartner(mapping: String, rule: Int, source: String, partner: String)
    case partnerTaken(mapping: String, rule: Int, partner: String)
    case tieTargetMissing(mapping: String, rule: Int, name: String, to: String)
    case requirementUnmet(mapping: String, pattern: String)
    case transform(mapping: String, rule: Int, source: String, reason: String)
    /// An expression of a rule's steps could not be evaluated for `source` (a variable
    /// missing from the config, a division with a remainder, …); `field` says where in the rule.
    case expression(mapping: String, rule: Int, source: String, field: String, expression: String, error: ExpressionError)
}

extension MappingError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .unmapped(m, names):
            let shown = names.prefix(10).joined(separator: ", ")
            return "mapping \(m): \(names.count) source tensor(s) match no rule: \(shown)\(names.count > 10 ? ", …" : ""); add rules, or pass --allow-unmapped to carry them over under their own names"
        case let .duplicateTarget(m, target, rules):
            return "mapping \(m): rules \(rules.map(String.init).joined(separator: " and ")) both produce \(target)"
        case let .missingPartner(m, rule, source, partner):
            return "mapping \(m): rules[\(rule)] concatenates \(source) with \(partner), which the model does not have"
        case let .partnerTaken(m, rule, partner):
            return "mapping \(m): rules[\(rule)] needs \(partner), already consumed by another concat"
        case let .tieTargetMissing(m, rule, name, to):
            return "mapping \(m): rules[\(rule)] ties \(name) to \(to), but no rule produced \(to)"
        case let .requirementUnmet(m, pattern):
            return "mapping \(m): no produced tensor matches the required pattern \(pattern)"
        case let .transform(m, rule, source, reason):
            return "mapping \(m): rules[\(rule)] on \(source): \(reason)"
        case let .expression(m, rule, source, field, expression, error):
            return "mapping \(m): rules[\(rule)] on \(source): \(field) \(JSONValue.quoted(expression)): \(error.localizedDescription)"
        }
    }
}

/// Applies a `Mapping` to a model, accounting for every tensor.
public struct MappingEngine: Sendable {
    public let mapping: Mapping

    public init(_ mapping: Mapping) { self.mapping = mapping }

    /// Returns the mapped model and the accounting. Dropped tensors are appended to the
    /// model's `dropped`; provenance of each produced tensor records the transforms.
    public func apply(to model: NeutralModel, allowUnmapped: Bool = false, tally: OverflowTally? = nil) throws -> (NeutralModel, MappingAccounting) {
        let rules = mapping.rules.filter { conditionsHold($0.when, config: model.config) }
        var accounting = MappingAccounting(mapping: mapping.name)
        var used = Set<Int>()

        // First matching rule per source tensor, with its captures.
        var matches: [String: (MappingRule, [String])] = [:]
        for entry in model.tensors {
            for rule in rules {
                if let ranks = rule.ranks, !ranks.contains(entry.tensor.shape.rank) { continue }
                guard let regex = rule.match, let caps = fullMatch(regex, entry.name) else { continue }
                matches[entry.name] = (rule, caps)
                break
            }
        }
        // Concat partners are consumed by the rule that names them.
        var partnerOf: [String: String] = [:]
        for entry in model.tensors {
            guard let (rule, caps) = matches[entry.name], case let .concat(with, _, _) = rule.action, partnerOf[entry.name] == nil else { continue }
            for p in with.map({ substitute($0, caps) }) {
                guard model.tensors[p] != nil else {
                    throw MappingError.missingPartner(mapping: mapping.label, rule: rule.index, source: entry.name, partner: p)
                }
                guard partnerOf[p] == nil else { throw MappingError.partnerTaken(mapping: mapping.label, rule: rule.index, partner: p) }
                partnerOf[p] = entry.name
            }
        }

        var out = TensorStore()
        var producedBy: [String: Int] = [:]
        func produce(_ name: String, _ tensor: TensorRef, from sources: [TensorEntry], rule: Int?, transforms: [TransformStep]) throws {
            if let earlier = producedBy[name] {
                throw MappingError.duplicateTarget(mapping: mapping.label, target: name, rules: [earlier, rule ?? -1])
            }
            producedBy[name] = rule ?? -1
            var prov = sources[0].provenance
            prov.transforms += transforms
            if sources.count > 1 { prov.sourceName = sources.map(\.provenance.sourceName).joined(separator: " + ") }
            try out.add(TensorEntry(name: name, tensor: tensor, provenance: prov))
            accounting.produced.append(.init(target: name, sources: sources.map(\.name), rule: rule))
        }

        // What became of each source tensor, for rewriting the graph's weight references.
        var fates: [String: GraphRewrite.Fate] = [:]
        for entry in model.tensors where partnerOf[entry.name] == nil {
            guard let (rule, caps) = matches[entry.name] else {
                accounting.unmapped.append(.init(name: entry.name, byteCount: entry.tensor.byteCount))
                if allowUnmapped {
                    try produce(entry.name, entry.tensor, from: [entry], rule: nil, transforms: [.unmapped])
                    fates[entry.name] = .mapped(to: entry.name, transpose: nil, reshape: nil)
                }
                continue
            }
            used.insert(rule.index)
            do {
                switch rule.action {
                case let .rename(to, transpose, reshape, cast):
                    let target = to.map { substitute($0, caps) } ?? entry.name
                    var t = entry.tensor
                    var steps: [TransformStep] = [to == nil ? .keep : .rename(from: entry.name, to: target)]
                    if let transpose {
                        t = try t.transposed(transpose, name: entry.name)
                        steps.append(.transpose(perm: transpose))
                    }
                    if let reshape {
                        t = try t.reshaped(reshape, name: entry.name)
                        steps.append(.reshape(shape: t.shape.dims))
                    }
                    var fate: GraphRewrite.Fate = .mapped(to: target, transpose: transpose, reshape: nil)
                    if let reshape, let transposedDims = try? (transpose.map { try entry.tensor.transposed($0, name: entry.name) } ?? entry.tensor).shape.dims {
                        fate = .reshaped(to: target, transpose: transpose, from: transposedDims, reshape: reshape)
                    }
                    if let shapeSteps = rule.shapeSteps {
                        let scope = ExpressionScope(dims: entry.tensor.shape.dims, variables: mapping.variables, config: model.config)
                        (t, fate) = try applyShapeSteps(shapeSteps, to: t, scope: scope, rule: rule.index, source: entry.name, target: target, steps: &steps)
                    }
                    if let add = rule.add {
                        t = try t.adding(add, name: target)
                        steps.append(.add(value: add))
                    }
                    if let cast, cast != t.dtype {
                        steps.append(.cast(from: t.dtype, to: cast))
                        t = try t.cast(to: cast, name: target, tally: tally)
                    }
                    try produce(target, t, from: [entry], rule: rule.index, transforms: steps)
                    fates[entry.name] = fate
                case let .split(axis, into, sizes):
                    let rank = entry.tensor.shape.rank
                    let a = axis < 0 ? axis + rank : axis
                    guard a >= 0, a < rank else { throw TransformError.badAxis(tensor: entry.name, axis: axis, rank: rank) }
                    let total = entry.tensor.shape.dims[a]
                    var sizes = sizes
                    if let written = rule.splitSizes {
                        let scope = ExpressionScope(dims: entry.tensor.shape.dims, variables: mapping.variables, config: model.config)
                        sizes = try written.map { w -> Int in
                            do { return try scope.dimension(w.expression) } catch let error as ExpressionError {
                                throw MappingError.expression(mapping: mapping.label, rule: rule.index, source: entry.name, field: w.field,
                                                              expression: w.text, error: error)
                            }
                        }
                    }
                    let partSizes = sizes ?? Array(repeating: total / into.count, count: into.count)
                    if sizes == nil && total % into.count != 0 {
                        throw TransformError.splitUneven(tensor: entry.name, axis: a, size: total, sizes: partSizes)
                    }
                    let parts = try entry.tensor.split(axis: a, sizes: partSizes, name: entry.name)
                    let names = into.map { substitute($0, caps) }
                    for (i, (name, part)) in zip(names, parts).enumerated() {
                        try produce(name, part, from: [entry], rule: rule.index,
                                    transforms: [.split(axis: a, sizes: partSizes, index: i, count: into.count, into: name)])
                    }
                    fates[entry.name] = .unfollowable("rules[\(rule.index)] splits it into \(names.joined(separator: ", "))")
                case let .concat(with, axis, into):
                    let partners = with.map { substitute($0, caps) }
                    let all = [entry] + partners.compactMap { model.tensors[$0] }
                    let rank = entry.tensor.shape.rank
                    let a = axis < 0 ? axis + rank : axis
                    let joined = try TensorRef.concatenated(all.map(\.tensor), axis: a, name: entry.name)
                    let target = substitute(into, caps)
                    try produce(target, joined, from: all, rule: rule.index,
                                transforms: [.concat(axis: a, sources: all.map(\.name), into: target)])
                    for e in all {
                        fates[e.name] = .unfollowable("rules[\(rule.index)] concatenates it with \(all.filter { $0.name != e.name }.map(\.name).joined(separator: ", ")) into \(target)")
                    }
                case let .drop(reason):
                    accounting.dropped.append(DroppedTensor(name: entry.name, reason: reason, byteCount: entry.tensor.byteCount,
                                                            sourceFile: entry.provenance.sourceFile))
                    fates[entry.name] = .unfollowable("rules[\(rule.index)] drops it (\(reason))")
                case .tie:
                    break
                }
            } catch let error as TransformError {
                throw MappingError.transform(mapping: mapping.label, rule: rule.index, source: entry.name, reason: error.localizedDescription)
            }
        }

        for rule in rules {
            guard case let .tie(name, to) = rule.action else { continue }
            guard let target = out[to] else {
                throw MappingError.tieTargetMissing(mapping: mapping.label, rule: rule.index, name: name, to: to)
            }
            used.insert(rule.index)
            var prov = target.provenance
            prov.transforms.append(.tie(name: name, to: to))
            if let earlier = producedBy[name] {
                throw MappingError.duplicateTarget(mapping: mapping.label, target: name, rules: [earlier, rule.index])
            }
            producedBy[name] = rule.index
            try out.add(TensorEntry(name: name, tensor: target.tensor, provenance: prov))
            accounting.produced.append(.init(target: name, sources: [to], rule: rule.index))
        }

        if !accounting.unmapped.isEmpty && !allowUnmapped {
            throw MappingError.unmapped(mapping: mapping.label, names: accounting.unmapped.map(\.name))
        }
        for pattern in mapping.require {
            let regex = try NSRegularExpression(pattern: pattern)
            if !out.names.contains(where: { fullMatch(regex, $0) != nil }) {
                throw MappingError.requirementUnmet(mapping: mapping.label, pattern: pattern)
            }
        }
        accounting.unusedRules = rules.map(\.index).filter { !used.contains($0) }

        var result = model
        result.tensors = out
        result.dropped += accounting.dropped
        if let graph = model.graph {
            switch GraphRewrite.rewrite(graph, fates: fates, sourceWeights: Set(model.tensors.names)) {
            case let .kept(rewritten):
                result.graph = rewritten
            case let .dropped(why):
                result.graph = nil
                accounting.graphDropped = why
                result.notes.append("graph (\(graph.origin)) not carried over: \(why); the mapped model can be verified at the weights level only")
            }
        }
        if !accounting.unmapped.isEmpty {
            result.notes.append("\(accounting.unmapped.count) tensor(s) matched no rule of mapping \(mapping.name) and were kept under their source names")
        }
        return (result, accounting)
    }

    /// Applies a rule's expression steps, appending each as a typed step with its resolved
    /// values. Returns the tensor and its fate for the graph rewrite: transposes composed
    /// into one permutation, then at most one final reshape; a reshape before a transpose
    /// (or two reshapes) is a shape no layout attribute can state.
    func applyShapeSteps(_ shapeSteps: [ShapeStep], to start: TensorRef, scope: ExpressionScope, rule: Int, source: String,
                         target: String, steps: inout [TransformStep]) throws -> (TensorRef, GraphRewrite.Fate) {
        var t = start
        var perm: [Int]? = nil
        var transposedDims = start.shape.dims
        var reshapes = 0, transposeAfterReshape = false
        for step in shapeSteps {
            switch step {
            case let .transpose(p):
                t = try t.transposed(p, name: source)
                steps.append(.transpose(perm: p))
                if reshapes == 0 {
                    perm = perm.map { before in p.map { before[$0] } } ?? p
                    transposedDims = t.shape.dims
                } else {
                    transposeAfterReshape = true
                }
            case let .reshape(dims):
                let values = try dims.map { written -> Int in
                    do { return try scope.dimension(written.expression) } catch let error as ExpressionError {
                        throw MappingError.expression(mapping: mapping.label, rule: rule, source: source, field: written.field,
                                                      expression: written.text, error: error)
                    }
                }
                t = try t.reshaped(values, name: source)
                steps.append(.reshape(shape: values))
                reshapes += 1
            }
        }
        if reshapes == 0 { return (t, .mapped(to: target, transpose: perm, reshape: nil)) }
        if reshapes == 1 && !transposeAfterReshape {
            return (t, .reshaped(to: target, transpose: perm, from: transposedDims, reshape: t.shape.dims))
        }
        return (t, .mapped(to: target, transpose: nil, reshape: t.shape.dims))
    }

    /// The captures ($0 whole, $1…) when `regex` matches all of `name`.
    func fullMatch(_ regex: NSRegularExpression, _ name: String) -> [String]? {
        let range = NSRange(name.startIndex..., in: name)
        guard let m = regex.firstMatch(in: name, options: [.anchored], range: range), m.range == range else { return nil }
        return (0..<m.numberOfRanges).map { i in
            Range(m.range(at: i), in: name).map { String(name[$0]) } ?? ""
        }
    }

    /// Replaces `$1`…`$9` with captures.
    func substitute(_ template: String, _ captures: [String]) -> String {
        var out = ""
        var chars = template.makeIterator()
        while let c = chars.next() {
            if c == "$", let d = chars.next() {
                if let i = d.wholeNumberValue, i < captures.count { out += captures[i] } else { out.append(c); out.append(d) }
            } else {
                out.append(c)
            }
        }
        return out
    }

    func conditionsHold(_ when: [String: JSONValue], config: JSONValue) -> Bool {
        when.allSatisfy { path, expected in
            var v: JSONValue? = config
            for key in path.split(separator: ".").map(String.init).drop(while: { $0 == "config" }) { v = v?[key] }
            guard let actual = v else { return expected.isNull }
            if let a = actual.doubleValue, let e = expected.doubleValue { return a == e }
            return actual == expected
        }
    }
}
