import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterSafetensors

/// Systematic damage to a real file: every truncation and byte substitutions across the
/// header. The reader must either read it (and then every tensor must materialise within
/// bounds) or throw a typed error; it must never crash.
@Suite struct MutationTests {
    static func attempt(_ bytes: [UInt8], at url: URL) -> String {
        guard FileManager.default.createFile(atPath: url.path, contents: Data(bytes)) else { return "untyped: could not write \(url.path)" }
        do {
            let model = try SafetensorsReader().read(url, options: ReadOptions())
            for e in model.tensors { _ = try e.tensor.contiguousBytes() }
            return "ok"
        } catch let e as SafetensorsError {
            return e.caseName
        } catch let e as CoreError {
            return "core:\(e)"
        } catch {
            return "untyped:\(error)"
        }
    }

    @Test func everyTruncationIsATypedError() throws {
        let source = try [UInt8](Data(contentsOf: Fixtures.url("safetensors/valid/small_model.safetensors")))
        let dir = try Fixtures.scratchDirectory("st-trunc")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("t.safetensors")
        for length in 0..<source.count {
            let outcome = Self.attempt(Array(source[0..<length]), at: url)
            #expect(outcome != "ok" && !outcome.hasPrefix("untyped") && !outcome.hasPrefix("core"), "length \(length): \(outcome)")
        }
    }

    @Test func byteSubstitutionsInTheHeaderNeverCrash() throws {
        let source = try [UInt8](Data(contentsOf: Fixtures.url("safetensors/valid/metadata.safetensors")))
        let headerEnd = 8 + Int(source[0]) + Int(source[1]) << 8
        let dir = try Fixtures.scratchDirectory("st-mutate")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.safetensors")
        var outcomes: [String: Int] = [:]
        for offset in 0..<headerEnd {
            for value: UInt8 in [0x00, 0xFF, 0x22, 0x39, 0x2C, 0x7D, 0x5B] where source[offset] != value {
                var bytes = source
                bytes[offset] = value
                let outcome = Self.attempt(bytes, at: url)
                #expect(!outcome.hasPrefix("untyped") && !outcome.hasPrefix("core"), "byte \(offset) := \(value): \(outcome)")
                outcomes[outcome, default: 0] += 1
            }
        }
        // The damage reaches many different checks, not one catch-all.
        #expect(outcomes.keys.filter { $0 != "ok" }.count >= 6, "\(outcomes)")
    }
}
