import Foundation
import CPorterRuntime
@testable import PorterRuntime
import Testing

/// `porter_advise_huge_pages` (the runtime's large outputs, e.g. GPT-2's logits) and the
/// `uninitialized` buffers it is applied to.
@Suite struct HugePagesTests {
    @Test("huge pages are not asked for below 4 MB, nor for a range holding no whole 2 MB page")
    func smallRangesAreLeftAlone() {
        let small = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { small.deallocate() }
        #expect(porter_advise_huge_pages(small, 1 << 20) == -1)
        #expect(porter_advise_huge_pages(small, (4 << 20) - 1) == -1)
        #expect(porter_advise_huge_pages(nil, 0) == -1)
    }

    #if os(Linux)
    @Test("a large anonymous mapping takes MADV_HUGEPAGE where the kernel has transparent huge pages",
          .enabled(if: FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage/enabled")))
    func largeMappingIsAdvised() {
        let bytes = 64 << 20
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { raw.deallocate() }
        #expect(porter_advise_huge_pages(raw, bytes) == 0)
    }
    #endif

    @Test("a large uninitialized buffer (advised) holds what is written to it, to its last element")
    func largeUninitializedBufferIsUsable() {
        let count = (12 << 20) / 4 + 3
        var values: [Float] = uninitialized(count)
        #expect(values.count == count)
        for i in stride(from: 0, to: count, by: 1021) { values[i] = Float(i) }
        values[count - 1] = -1
        #expect(values[1021 * 7] == Float(1021 * 7) && values[count - 1] == -1)
    }
}
