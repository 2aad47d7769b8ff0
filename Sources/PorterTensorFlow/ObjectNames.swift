import Foundation
import PorterCore

/// What to do with one checkpoint key when building a neutral model.
public enum CheckpointKeyDecision: Sendable, Equatable {
    /// Carry the tensor under this name.
    case keep(String)
    /// Leave it out, for this reason.
    case drop(String)
}

/// Turns `tf.train.Checkpoint` keys (`model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE`)
/// into layer/variable names using the checkpoint's object graph, and drops
/// optimizer slots, optimizer state, `save_counter` and Keras metrics with reasons.
/// Name-based (TF1 Saver) checkpoints have no object graph and keep their names, except
/// the optimizer's state, told by TF1's slot naming (below), which is dropped with reasons.
public struct CheckpointNaming: Sendable {
    public static let variableSuffix = "/.ATTRIBUTES/VARIABLE_VALUE"

    /// Checkpoint key → object graph node id.
    let nodeOfKey: [String: Int]
    /// Slot variable node id → (slot name, original variable node id).
    let slotOf: [Int: (String, Int)]
    /// Node id → preferred name (SavedModel variable names), when known.
    let preferredName: [Int: String]
    /// Node id → a checkpoint key of the node, for naming slot owners.
    let keyOfNode: [Int: String]
    /// Node id → the variable's TensorFlow name with `:0` (`tf_bert_model/bert/…/kernel:0`),
    /// from the object graph's `full_name`.
    public let variableNames: [Int: String]
    public let isObjectBased: Bool
    /// Name-based checkpoints: key → why it is training state, not a weight.
    let nameBasedTrainingState: [String: String]

    /// The slot names TF1 optimizers give their slot variables (`<variable>/<slot>`):
    /// `slot_creator` names a slot after its optimizer (`Adam`, a second one `Adam_1`).
    static let tf1SlotNames: Set<String> = ["Adam", "Adam_1", "Momentum", "RMSProp", "RMSProp_1", "Adagrad",
                                            "Adadelta", "Adadelta_1", "Ftrl", "Ftrl_1", "ProximalAdagrad",
                                            "AdagradDA", "AdagradDA_1", "LazyAdam", "LazyAdam_1",
                                            "adam_m", "adam_v"]  // BERT's AdamWeightDecayOptimizer

    /// A TF1 Saver checkpoint's optimizer state: `<variable>/<slot>` where `<variable>` is
    /// in the bundle with the same shape and `<slot>` is a TF1 slot name (musicnn's models
    /// carry `…/Adam` and `…/Adam_1` for every trainable variable), and Adam's
    /// `beta1_power`/`beta2_power` when Adam slots are there. A name that only looks like a
    /// slot (no owner of that shape) is kept.
    static func tf1TrainingState(_ bundle: TensorBundle) -> [String: String] {
        let names = Set(bundle.names)
        var out: [String: String] = [:]
        for key in bundle.names {
            guard let slash = key.lastIndex(of: "/") else { continue }
            let owner = String(key[..<slash]), slot = String(key[key.index(after: slash)...])
            guard tf1SlotNames.contains(slot), names.contains(owner),
                  let a = try? bundle.info(key), let b = try? bundle.info(owner), a.shape == b.shape else { continue }
            out[key] = "optimizer slot '\(slot)' of \(owner) (TF1 Saver checkpoint), not a model weight"
        }
        if out.keys.contains(where: { $0.hasSuffix("/Adam") }) {
            for key in ["beta1_power", "beta2_power"] where names.contains(key) {
                out[key] = "Adam's running power of \(key == "beta1_power" ? "beta1" : "beta2") (optimizer state), not a model weight"
            }
        }
        return out
    }

    /// Naming for a bundle; reads its object graph when it has one. With
    /// `useVariableNames`, variables are named by their TensorFlow names (what Keras'
    /// `weights` and transformers' TF → PyTorch conversion use) instead of object paths.
    public init(bundle: TensorBundle, preferredNames: [Int: String] = [:], useVariableNames: Bool = false) throws {
        guard bundle.names.contains(TensorBundle.objectGraphKey) else {
            nodeOfKey = [:]; slotOf = [:]; preferredName = [:]; keyOfNode = [:]; variableNames = [:]; isObjectBased = false
            nameBasedTrainingState = Self.tf1TrainingState(bundle)
            return
        }
        let elements = try bundle.strings(TensorBundle.objectGraphKey)
        guard elements.count == 1 else {
            throw TensorFlowError.malformedEntry(file: bundle.indexPath, key: TensorBundle.objectGraphKey, reason: "holds \(elements.count) strings, expected 1")
        }
        let graph: Tensorflow_TrackableObjectGraph
        do { graph = try Tensorflow_TrackableObjectGraph(serializedBytes: elements[0], options: protobufOptions) } catch {
            throw TensorFlowError.malformedEntry(file: bundle.indexPath, key: TensorBundle.objectGraphKey, reason: "not a TrackableObjectGraph: \(error)")
        }
        var nodeOfKey: [String: Int] = [:], keyOfNode: [Int: String] = [:], slotOf: [Int: (String, Int)] = [:]
        var variableNames: [Int: String] = [:]
        for (id, node) in graph.nodes.enumerated() {
            for attr in node.attributes {
                nodeOfKey[attr.checkpointKey] = id
                if attr.name == "VARIABLE_VALUE" {
                    keyOfNode[id] = attr.checkpointKey
                    if !attr.fullName.isEmpty { variableNames[id] = attr.fullName + ":0" }
                }
            }
            for slot in node.slotVariables {
                slotOf[Int(slot.slotVariableNodeID)] = (slot.slotName, Int(slot.originalVariableNodeID))
            }
        }
        self.nodeOfKey = nodeOfKey
        self.keyOfNode = keyOfNode
        self.slotOf = slotOf
        self.variableNames = variableNames
        self.preferredName = useVariableNames ? variableNames.merging(preferredNames) { _, preferred in preferred } : preferredNames
        isObjectBased = true
        nameBasedTrainingState = [:]
    }

    /// The decision for checkpoint key `key`.
    public func decide(_ key: String) -> CheckpointKeyDecision {
        guard isObjectBased else {
            if let reason = nameBasedTrainingState[key] { return .drop(reason) }
            return .keep(key)
        }
        if key == TensorBundle.objectGraphKey {
            return .drop("the checkpoint's object graph (read to name the variables)")
        }
        if key.contains("/.OPTIMIZER_SLOT/") {
            if let node = nodeOfKey[key], let (slot, original) = slotOf[node], let owner = keyOfNode[original] {
                return .drop("optimizer slot '\(slot)' of \(stripped(owner))")
            }
            return .drop("optimizer slot variable")
        }
        if key == "save_counter" + Self.variableSuffix { return .drop("tf.train.Checkpoint's save counter") }
        if key.hasPrefix("optimizer/") || key.contains("/optimizer/") { return .drop("optimizer state (not a model weight)") }
        if key.hasPrefix("keras_api/metrics/") || key.contains("/keras_api/metrics/") { return .drop("Keras metric state (not a model weight)") }
        if key.hasSuffix(Self.variableSuffix) {
            if let node = nodeOfKey[key], let name = preferredName[node] { return .keep(name) }
            return .keep(stripped(key))
        }
        return .keep(key)
    }

    func stripped(_ key: String) -> String {
        key.hasSuffix(Self.variableSuffix) ? String(key.dropLast(Self.variableSuffix.count)) : key
    }
}

extension TensorBundle {
    /// The bundle's tensors as a neutral model: numeric tensors carried (zero-copy when
    /// saved whole), strings/resources/variants and optimizer/bookkeeping state dropped
    /// with reasons.
    public func neutralModel(sourceFormat: String, naming: CheckpointNaming, progress: any ProgressSink = SilentProgress()) throws -> NeutralModel {
        var model = NeutralModel(sourceFormat: sourceFormat, sourceFiles: [indexPath] + shardPaths)
        var used: [String: String] = [:]
        progress.begin("reading \(prefix)", totalUnits: Int64(names.count))
        defer { progress.end() }
        for key in names {
            progress.advance(1)
            let e = try entry(key)
            let decision = naming.decide(key)
            if case let .drop(reason) = decision {
                model.dropped.append(DroppedTensor(name: key, reason: reason, byteCount: Int(e.size), sourceFile: indexPath))
                continue
            }
            guard Self.dtype(e.dtype.rawValue) != nil else {
                let kind = Self.dtypeName(e.dtype.rawValue)
                model.dropped.append(DroppedTensor(name: key, reason: "\(kind) tensor: Porter carries numeric tensors only", byteCount: Int(e.size), sourceFile: indexPath))
                continue
            }
            guard case var .keep(name) = decision else { continue }
            if let other = used[name] {
                model.notes.append("'\(key)' and '\(other)' both map to '\(name)'; kept the first under that name and this one under its key")
                name = key
            }
            used[name] = key
            let ref = try tensor(key)
            try model.tensors.add(TensorEntry(name: name, tensor: ref, provenance: Provenance(sourceFile: prefix, sourceName: key)))
        }
        model.metadata["tensorflow.bundle.shards"] = String(shards.count)
        model.metadata["tensorflow.checkpoint.kind"] = naming.isObjectBased ? "object-based" : "name-based"
        if bigEndian { model.notes.append("the bundle is big-endian; tensors are byte-swapped when read") }
        return model
    }
}
