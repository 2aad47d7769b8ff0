import Foundation

/// Why a pickle was refused. Every case names the source and the byte offset of the opcode.
public enum PickleError: Error, Sendable, Equatable {
    /// A global Porter will never resolve (code execution, file or network access).
    case dangerousGlobal(source: String, offset: Int, global: String, reason: String)
    case unknownOpcode(source: String, offset: Int, opcode: UInt8)
    /// An opcode Porter recognises but refuses (extension registry, out-of-band buffers).
    case unsupportedOpcode(source: String, offset: Int, opcode: String, reason: String)
    case truncated(source: String, offset: Int, what: String)
    case stackUnderflow(source: String, offset: Int, opcode: String)
    case markMissing(source: String, offset: Int, opcode: String)
    case memoMissing(source: String, offset: Int, index: Int)
    case typeMismatch(source: String, offset: Int, opcode: String, expected: String, found: String)
    case malformedArgument(source: String, offset: Int, opcode: String, reason: String)
    case limitExceeded(source: String, offset: Int, limit: String)
    case missingStop(source: String, offset: Int)
    /// A persistent id or rebuild call the caller could not turn into a value.
    case unresolved(source: String, offset: Int, reason: String)
}

extension PickleError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .dangerousGlobal(source, offset, global, reason):
            return "\(source): refused dangerous global \(global) at byte \(offset) (\(reason)); Porter never runs code from model files. Inspect it with `porter scan`; do not load this file with pickle or torch.load(weights_only=False)"
        case let .unknownOpcode(source, offset, opcode):
            return "\(source): unknown pickle opcode 0x\(String(opcode, radix: 16)) at byte \(offset); the file is corrupt or not a pickle"
        case let .unsupportedOpcode(source, offset, opcode, reason):
            return "\(source): pickle opcode \(opcode) at byte \(offset) is not supported: \(reason)"
        case let .truncated(source, offset, what):
            return "\(source): pickle truncated at byte \(offset) while reading \(what); the file is incomplete"
        case let .stackUnderflow(source, offset, opcode):
            return "\(source): pickle stack underflow at byte \(offset) (\(opcode)); the file is corrupt"
        case let .markMissing(source, offset, opcode):
            return "\(source): \(opcode) at byte \(offset) needs a MARK that is not there; the file is corrupt"
        case let .memoMissing(source, offset, index):
            return "\(source): pickle memo entry \(index) read at byte \(offset) was never stored; the file is corrupt"
        case let .typeMismatch(source, offset, opcode, expected, found):
            return "\(source): \(opcode) at byte \(offset) expected \(expected) but found \(found)"
        case let .malformedArgument(source, offset, opcode, reason):
            return "\(source): \(opcode) at byte \(offset): \(reason)"
        case let .limitExceeded(source, offset, limit):
            return "\(source): pickle exceeds Porter's safety limit at byte \(offset): \(limit)"
        case let .missingStop(source, offset):
            return "\(source): pickle ends at byte \(offset) without STOP; the file is truncated"
        case let .unresolved(source, offset, reason):
            return "\(source): at byte \(offset): \(reason)"
        }
    }
}
