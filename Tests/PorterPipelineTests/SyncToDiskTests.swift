import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterPipeline
#if canImport(Glibc)
import Glibc
#endif

/// `convert --fsync`: everything written is synced before the rename; a sync that fails
/// is a typed error naming the file, and nothing is left at the target.
@Suite struct SyncToDiskTests {
    @Test func syncedFolderOutputArrivesWhole() throws {
        let dir = try Fixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("out")
        try AtomicOutput.write(to: target, force: false, syncToDisk: true) { temp in
            try FileManager.default.createDirectory(at: temp.appendingPathComponent("assets"), withIntermediateDirectories: true)
            try Data("weights".utf8).write(to: temp.appendingPathComponent("model.bin"))
            try Data("vocab".utf8).write(to: temp.appendingPathComponent("assets/vocab.txt"))
        }
        #expect(try String(contentsOf: target.appendingPathComponent("assets/vocab.txt"), encoding: .utf8) == "vocab")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out"])
    }

    /// A socket cannot be opened to sync (ENXIO): the error names it and the half-made
    /// output is removed.
    @Test func failedSyncLeavesNothingAndNamesTheFile() throws {
        let dir = try Fixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("out")
        var socketPath = ""
        do {
            try AtomicOutput.write(to: target, force: false, syncToDisk: true) { temp in
                try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
                socketPath = temp.appendingPathComponent("sock").path
                try Self.bindSocket(at: socketPath)
            }
            Issue.record("sync of a socket succeeded")
        } catch let CoreError.cannotWrite(path, reason) {
            #expect(path == socketPath)
            #expect(reason.contains("sync"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    static func bindSocket(at path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        try #require(bytes.count < MemoryLayout.size(ofValue: address.sun_path))
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
    }
}
