import Foundation
import Testing
@testable import PorterGGUF

/// One test per `GGUFError` case the parser raises: each builds a file with exactly one
/// field broken and checks the typed error (and that it names the place).
@Suite struct GGUFMalformedTests {
    func parse(_ bytes: [UInt8]) throws -> GGUFFile { try GGUFFile.parse(bytes: bytes, path: "bad.gguf") }

    func expect(_ name: String, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try parse(bytes)
            Issue.record("expected \(name), parsed fine", sourceLocation: sourceLocation)
        } catch let e as GGUFError {
            #expect(e.caseName == name, "\(e.localizedDescription)", sourceLocation: sourceLocation)
            #expect(e.localizedDescription.contains("bad.gguf"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("untyped error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func validBuilderParses() throws {
        let f = try parse(GGUFBytes.valid())
        #expect(f.tensors.map(\.name) == ["t0", "t1"])
        #expect(f.dataStart % 32 == 0)
    }

    @Test func badMagic() {
        var b = GGUFBytes.valid()
        b[0] = UInt8(ascii: "X")
        expect("badMagic", b)
        expect("badMagic", [])
    }

    @Test func versionOneAndFourRefused() {
        for v: UInt32 in [1, 4, 0x0300_0000] {
            var b = GGUFBytes.valid()
            b.replaceSubrange(4..<8, with: withUnsafeBytes(of: v.littleEndian, Array.init))
            expect("unsupportedVersion", b)
        }
    }

    @Test func everyTruncationIsTyped() throws {
        let full = GGUFBytes.valid()
        let f = try parse(full)
        // Every cut inside the header fails with a typed error; cuts inside the data fail as tensorPastEnd.
        for cut in 0..<full.count {
            do {
                _ = try parse(Array(full.prefix(cut)))
                Issue.record("cut at \(cut) parsed")
            } catch let e as GGUFError {
                if cut < 4 { #expect(e.caseName == "badMagic") }
                else if cut >= f.dataStart { #expect(e.caseName == "tensorPastEnd", "cut \(cut): \(e)") }
                else { #expect(["truncated", "countTooLarge", "stringTooLong", "tensorPastEnd"].contains(e.caseName), "cut \(cut): \(e)") }
            }
        }
    }

    @Test func hugeCounts() {
        var b = GGUFBytes.header(tensors: UInt64.max, keys: 0)
        expect("countTooLarge", b.bytes)
        b = GGUFBytes.header(tensors: 0, keys: 1 << 62)
        expect("countTooLarge", b.bytes)
        // An array claiming 2^64 - 1 elements.
        b = GGUFBytes.header(tensors: 0, keys: 1)
        b.string("a"); b.u32(GGUFValueType.array.rawValue); b.u32(GGUFValueType.uint8.rawValue); b.u64(UInt64.max)
        expect("countTooLarge", b.bytes)
    }

    @Test func stringOverCapOrPastEnd() {
        var b = GGUFBytes.header(tensors: 0, keys: 1)
        b.u64(UInt64(GGUFFormat.maxStringLength) + 1)
        b.bytes += [UInt8](repeating: 0, count: 16)
        expect("stringTooLong", b.bytes)
        b = GGUFBytes.header(tensors: 0, keys: 1)
        b.u64(UInt64.max)
        b.bytes += [UInt8](repeating: 0, count: 16)
        expect("stringTooLong", b.bytes)
        b = GGUFBytes.header(tensors: 0, keys: 1)
        b.u64(100)
        b.bytes += Array("short".utf8)
        expect("truncated", b.bytes)
    }

    @Test func invalidUTF8() {
        var b = GGUFBytes.header(tensors: 0, keys: 1)
        b.u64(2); b.bytes += [0xC3, 0x28]
        b.u32(GGUFValueType.uint8.rawValue); b.bytes.append(1)
        expect("invalidString", b.bytes)
    }

    @Test func unknownValueTypes() {
        var b = GGUFBytes.header(tensors: 0, keys: 1)
        b.string("k"); b.u32(13); b.u32(0)
        expect("unknownValueType", b.bytes)
        b = GGUFBytes.header(tensors: 0, keys: 1)
        b.string("k"); b.u32(GGUFValueType.array.rawValue); b.u32(99); b.u64(1); b.u32(0)
        expect("unknownValueType", b.bytes)
    }

    @Test func arraysNestedTooDeep() {
        var b = GGUFBytes.header(tensors: 0, keys: 1)
        b.string("deep"); b.u32(GGUFValueType.array.rawValue)
        for _ in 0..<(GGUFFormat.maxArrayDepth + 1) { b.u32(GGUFValueType.array.rawValue); b.u64(1) }
        b.u32(GGUFValueType.uint8.rawValue); b.u64(1); b.bytes.append(7)
        b.bytes += [UInt8](repeating: 0, count: 64)
        expect("arrayTooDeep", b.bytes)
    }

    @Test func duplicateKey() {
        var b = GGUFBytes.header(tensors: 0, keys: 2)
        b.keyU32("k", 1); b.keyU32("k", 2)
        expect("duplicateKey", b.bytes)
    }

    @Test func badBool() {
        var b = GGUFBytes.header(tensors: 0, keys: 1)
        b.string("flag"); b.u32(GGUFValueType.bool.rawValue); b.bytes.append(2)
        expect("badMetadata", b.bytes)
    }

    @Test func alignmentZeroNotPowerOfTwoOrWrongType() {
        for a: UInt32 in [0, 3, 48] {
            var b = GGUFBytes.header(tensors: 0, keys: 1)
            b.keyU32("general.alignment", a)
            expect("badAlignment", b.bytes)
        }
        var b = GGUFBytes.header(tensors: 0, keys: 1)
        b.keyString("general.alignment", "32")
        expect("badMetadata", b.bytes)
    }

    @Test func duplicateTensor() {
        var b = GGUFBytes.header(tensors: 2, keys: 0)
        b.tensorInfo("w", dims: [8], offset: 0); b.tensorInfo("w", dims: [8], offset: 32)
        b.pad(to: 32); b.bytes += [UInt8](repeating: 0, count: 64)
        expect("duplicateTensor", b.bytes)
    }

    @Test func badShapes() {
        // Five dimensions.
        var b = GGUFBytes.header(tensors: 1, keys: 0)
        b.tensorInfo("w", dims: [1, 1, 1, 1, 1], offset: 0)
        b.bytes += [UInt8](repeating: 0, count: 64)
        expect("badShape", b.bytes)
        // A dimension over Int64.max.
        b = GGUFBytes.header(tensors: 1, keys: 0)
        b.tensorInfo("w", dims: [1 << 63], offset: 0)
        b.bytes += [UInt8](repeating: 0, count: 64)
        expect("badShape", b.bytes)
        // A product that overflows.
        b = GGUFBytes.header(tensors: 1, keys: 0)
        b.tensorInfo("w", dims: [1 << 32, 1 << 32], offset: 0)
        b.bytes += [UInt8](repeating: 0, count: 64)
        expect("badShape", b.bytes)
        // Elements fit but bytes overflow.
        b = GGUFBytes.header(tensors: 1, keys: 0)
        b.tensorInfo("w", dims: [1 << 62], type: GGMLType.f32.rawValue, offset: 0)
        b.bytes += [UInt8](repeating: 0, count: 64)
        expect("badShape", b.bytes)
    }

    @Test func unsupportedTypesRefusedByName() throws {
        var b = GGUFBytes.header(tensors: 1, keys: 0)
        b.tensorInfo("w", dims: [32], type: 20, offset: 0)  // IQ4_NL
        b.pad(to: 32); b.bytes += [UInt8](repeating: 0, count: 32)
        do { _ = try parse(b.bytes); Issue.record("parsed") } catch let e as GGUFError {
            #expect(e.caseName == "unsupportedTensorType")
            #expect(e.localizedDescription.contains("IQ4_NL"))
        }
        b = GGUFBytes.header(tensors: 1, keys: 0)
        b.tensorInfo("w", dims: [32], type: 1000, offset: 0)
        b.pad(to: 32); b.bytes += [UInt8](repeating: 0, count: 32)
        expect("unsupportedTensorType", b.bytes)
    }

    @Test func notWholeBlocks() {
        var b = GGUFBytes.header(tensors: 1, keys: 0)
        b.tensorInfo("w", dims: [33, 2], type: GGMLType.q8_0.rawValue, offset: 0)
        b.pad(to: 32); b.bytes += [UInt8](repeating: 0, count: 256)
        expect("notWholeBlocks", b.bytes)
    }

    @Test func misalignedOffset() {
        var b = GGUFBytes.header(tensors: 1, keys: 0)
        b.tensorInfo("w", dims: [2], offset: 4)
        b.pad(to: 32); b.bytes += [UInt8](repeating: 0, count: 64)
        expect("misalignedTensor", b.bytes)
    }

    @Test func offsetPastEnd() {
        var b = GGUFBytes.header(tensors: 1, keys: 0)
        b.tensorInfo("w", dims: [8], offset: 1 << 40)
        b.pad(to: 32); b.bytes += [UInt8](repeating: 0, count: 32)
        expect("tensorPastEnd", b.bytes)
        b = GGUFBytes.header(tensors: 1, keys: 0)
        b.tensorInfo("w", dims: [8], offset: UInt64.max - 31)
        b.pad(to: 32); b.bytes += [UInt8](repeating: 0, count: 32)
        expect("tensorPastEnd", b.bytes)
    }

    @Test func overlappingTensors() {
        var b = GGUFBytes.header(tensors: 2, keys: 0)
        b.tensorInfo("a", dims: [16], offset: 0); b.tensorInfo("b", dims: [8], offset: 32)
        b.pad(to: 32); b.bytes += [UInt8](repeating: 0, count: 64)
        do { _ = try parse(b.bytes); Issue.record("parsed") } catch let e as GGUFError {
            #expect(e.caseName == "overlappingTensors")
            #expect(e.localizedDescription.contains("'b'") && e.localizedDescription.contains("'a'"))
        } catch { Issue.record("\(error)") }
    }

    @Test func errorNamesKeyAndOffset() {
        var b = GGUFBytes.header(tensors: 0, keys: 1)
        b.string("general.name"); b.u32(GGUFValueType.string.rawValue); b.u64(50)
        do { _ = try parse(b.bytes); Issue.record("parsed") } catch {
            #expect(error.localizedDescription.contains("general.name"))
            #expect(error.localizedDescription.contains("byte"))
        }
    }
}
