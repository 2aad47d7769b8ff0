import Foundation

/// Overall safety verdict of a scanned file.
public enum ScanVerdict: String, Sendable, Codable, Comparable {
    /// Only allow-listed globals: Porter and `torch.load(weights_only=True)` can read it.
    case safe
    /// Unknown classes, embedded pickles or malformed data: look before trusting it.
    case review
    /// Names callables that run code or touch the system: never unpickle it.
    case dangerous

    var rank: Int { self == .safe ? 0 : self == .review ? 1 : 2 }
    public static func < (a: ScanVerdict, b: ScanVerdict) -> Bool { a.rank < b.rank }
}

/// One reason behind a verdict, with where it was found.
public struct ScanFinding: Sendable, Codable, Hashable {
    public var verdict: ScanVerdict
    public var reason: String
    /// The pickle it is in (`archive/data.pkl`, `pickle #4`, ...).
    public var pickle: String
    /// Byte offset of the opcode in the file (or in the zip entry, for archives).
    public var offset: Int

    public init(verdict: ScanVerdict, reason: String, pickle: String, offset: Int) {
        self.verdict = verdict
        self.reason = reason
        self.pickle = pickle
        self.offset = offset
    }
}

/// A global a pickle names, how Porter classifies it and where it first appears.
public struct ScannedGlobal: Sendable, Codable, Hashable {
    public var global: String
    /// `allowed`, `unknown` or `dangerous`.
    public var classification: String
    public var count: Int
    public var pickle: String
    public var firstOffset: Int

    public init(global: String, classification: String, count: Int, pickle: String, firstOffset: Int) {
        self.global = global
        self.classification = classification
        self.count = count
        self.pickle = pickle
        self.firstOffset = firstOffset
    }
}

/// What `porter scan` found in a file: the verdict, its reasons and, for formats that hold
/// pickles, the inventory of their globals and opcodes. Readers fill it (`PickleScanning`,
/// `HazardChecking`); the pipeline prints it.
public struct ScanReport: Sendable, Codable {
    public var path: String
    /// `torch-zip`, `torchscript`, `torch-legacy`, `pickle`, or the reader id of a format
    /// without pickles (`safetensors`, `keras-h5`, ...).
    public var format: String
    public var verdict: ScanVerdict
    public var findings: [ScanFinding]
    public var globals: [ScannedGlobal]
    public var opcodeCounts: [String: Int]
    /// The pickles that were scanned.
    public var pickles: [String]
    /// Facts that do not change the verdict (e.g. TorchScript code present but never run).
    public var notes: [String]

    public init(path: String, format: String) {
        self.path = path
        self.format = format
        verdict = .safe
        findings = []
        globals = []
        opcodeCounts = [:]
        pickles = []
        notes = []
    }

    /// Adds a finding (once) and raises the verdict to at least its verdict.
    public mutating func add(_ f: ScanFinding) {
        if !findings.contains(f) { findings.append(f) }
        verdict = max(verdict, f.verdict)
    }

    /// Exit status for `porter scan`: 0 safe, 4 review, 5 dangerous (1 stays "could not
    /// read the file", as for every command).
    public var exitCode: Int32 {
        switch verdict {
        case .safe: return 0
        case .review: return 4
        case .dangerous: return 5
        }
    }
}
