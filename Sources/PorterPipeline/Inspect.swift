import Foundation
import PorterCore

/// What `porter inspect` reports about a model file or folder.
public struct InspectReport: Sendable, Codable {
    public struct Tensor: Sendable, Codable, Equatable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        public var bytes: Int
        /// Set when this name views the same elements as an earlier one.
        public var aliasOf: String?
    }
    public struct GraphSummary: Sendable, Codable, Equatable {
        public var origin: String
        public var nodes: Int
        public var ops: [String: Int]
        public var inputs: [GraphValue]
        public var outputs: [GraphValue]
    }

    public var path: String
    public var format: String
    public var formatName: String
    public var tensorCount: Int
    public var parameterCount: Int
    /// Bytes of tensor data, aliases counted once.
    public var totalBytes: Int
    public var tensors: [Tensor]
    public var metadata: [String: String]
    public var config: JSONValue
    public var graph: GraphSummary?
    public var assets: [String]
    public var dropped: [DroppedTensor]
    public var notes: [String]

    public init(path: String, reader: FormatInfo, model: NeutralModel) {
        let aliases = model.tensors.aliases()
        self.path = path
        self.format = reader.id
        self.formatName = reader.name
        self.tensorCount = model.tensors.count
        self.parameterCount = model.tensors.parameterCount
        self.totalBytes = model.tensors.uniqueByteCount
        self.tensors = model.tensors.map {
            Tensor(name: $0.name, dtype: $0.tensor.dtype.rawValue, shape: $0.tensor.shape.dims, bytes: $0.tensor.byteCount, aliasOf: aliases[$0.name])
        }
        self.metadata = model.metadata
        self.config = model.config
        self.graph = model.graph.map { g in
            GraphSummary(origin: g.origin, nodes: g.nodes.count, ops: Dictionary(g.nodes.map { ($0.op, 1) }, uniquingKeysWith: +),
                         inputs: g.inputs, outputs: g.outputs)
        }
        self.assets = model.assets.map { "\($0.fileName) (\($0.kind), \($0.bytes.count) bytes)" }
        self.dropped = model.dropped
        self.notes = model.notes
    }

    /// Machine-readable form (`--json`): stable key order.
    public func json() throws -> String {
        String(decoding: try JSONValue.encoder(pretty: true).encode(self), as: UTF8.self) + "\n"
    }

    /// Human-readable form.
    public func text() -> String {
        var out = "\(path)\n"
        out += "  format:     \(formatName) (\(format))\n"
        out += "  tensors:    \(tensorCount)\n"
        out += "  parameters: \(Self.grouped(parameterCount))\n"
        out += "  data:       \(ByteCountText.format(totalBytes))\n"
        if let graph {
            let ops = graph.ops.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
            out += "  graph:      \(graph.nodes) nodes from \(graph.origin): \(ops)\n"
        } else {
            out += "  graph:      none (weights only)\n"
        }
        if !metadata.isEmpty {
            out += "\nmetadata\n"
            for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { out += "  \(k): \(v)\n" }
        }
        if let cfg = config.objectValue, !cfg.isEmpty {
            out += "\nconfig\n"
            for (k, v) in cfg.sorted(by: { $0.key < $1.key }) {
                let text = (try? String(decoding: v.encoded(pretty: false), as: UTF8.self)) ?? "?"
                out += "  \(k): \(text.count > 100 ? String(text.prefix(97)) + "..." : text)\n"
            }
        }
        out += "\ntensors\n"
        let rows = tensors.map { t in
            [t.name, t.dtype, "[" + t.shape.map(String.init).joined(separator: ", ") + "]", ByteCountText.format(t.bytes), t.aliasOf.map { "= \($0)" } ?? ""]
        }
        out += Self.table(header: ["name", "dtype", "shape", "bytes", "alias"], rows: rows)
        if !assets.isEmpty { out += "\nassets\n" + assets.map { "  \($0)\n" }.joined() }
        if !dropped.isEmpty {
            out += "\ndropped\n"
            for d in dropped { out += "  \(d.name) (\(ByteCountText.format(d.byteCount))): \(d.reason)\n" }
        }
        if !notes.isEmpty { out += "\nnotes\n" + notes.map { "  \($0)\n" }.joined() }
        return out
    }

    static func grouped(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, c) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    /// Left-aligned text table with two-space indent.
    static func table(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            "  " + row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }.joined()
    }
}

/// Human byte counts: `512 B`, `1.5 KB`, `438.0 MB` (powers of 1000, as `ls -h --si`).
public enum ByteCountText {
    public static func format(_ bytes: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = Double(bytes)
        var u = 0
        while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
        return u == 0 ? "\(bytes) B" : String(format: "%.1f", v) + " " + units[u]
    }
}
