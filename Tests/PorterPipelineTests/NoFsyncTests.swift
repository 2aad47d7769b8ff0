import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterPipeline

/// No fsync unless `--fsync`: the shard index, reports and model cards go through Porter's
/// own output helpers (`OutputFile.write`, `AtomicOutput`), whose every fsync is counted by
/// `DiskSync.counting`; Foundation's `Data.write`, which fsyncs on its own, is not used for
/// output at all.
@Suite struct NoFsyncTests {
    /// Converts the tiny BERT folder to a sharded HF folder (shards + index) and verifies it
    /// with a report folder; returns the number of fsyncs made.
    static func convertAndVerify(sync: Bool, report: Bool) throws -> Int {
        let dir = try Fixtures.scratchDirectory("porter-nofsync")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let reportDir = dir.appendingPathComponent("report")
        let (_, syncs) = try DiskSync.counting { () throws -> Void in
            let pipeline = Pipeline()
            let result = try pipeline.convert(ConvertRequest(source: Fixtures.url("safetensors/hf/bert"), output: out, to: "hf",
                                                             maxShardSize: 4096, syncToDisk: sync))
            let verified = try pipeline.verify(result, request: VerifyRequest(reportDirectory: report ? reportDir : nil, timestamped: false))
            #expect(verified.passed, "\(verified.failures)")
        }
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors.index.json").path))
        #expect(FileManager.default.fileExists(atPath: reportDir.appendingPathComponent("report.json").path) == report)
        return syncs
    }

    @Test("without --fsync, a sharded convert with its index, a verify and its report make no fsync")
    func nothingSyncsWithoutFsync() throws {
        #expect(try Self.convertAndVerify(sync: false, report: true) == 0)
    }

    @Test("with --fsync the output and the report are synced, so the counter sees them")
    func fsyncIsCounted() throws {
        let without = try Self.convertAndVerify(sync: true, report: false)
        let with = try Self.convertAndVerify(sync: true, report: true)
        #expect(without > 0)
        // report.json, report.md, report.html, their folder and its parent.
        #expect(with >= without + 5, "\(with) syncs with a report, \(without) without")
    }

    @Test("OutputFile.write syncs only when asked")
    func outputFileWrite() throws {
        let dir = try Fixtures.scratchDirectory("porter-nofsync-file")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("a.json")
        let (_, plain) = try DiskSync.counting { try OutputFile.write(Data("{}".utf8), to: url) }
        let (_, synced) = try DiskSync.counting { try OutputFile.write(Data("{ }".utf8), to: url, syncToDisk: true) }
        #expect(plain == 0 && synced == 1)
        #expect(try Data(contentsOf: url) == Data("{ }".utf8))
    }

    /// Foundation's `Data.write(to:)` / `String.write(to:atomically:)` fsync behind the
    /// counter's back: no source file writes output with them. The exceptions are not
    /// outputs: a test-only marker (TerminationSignals) and the HDF5 child process's
    /// result files in its private temporary folder.
    @Test("no source file writes with Foundation's Data.write")
    func noFoundationWrites() throws {
        let allowed: Set<String> = ["PorterCore/TerminationSignals.swift", "PorterHDF5/HDF5Isolation.swift", "PorterTestSupport/Fixtures.swift"]
        let sources = Fixtures.repositoryRoot.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.subpaths(atPath: sources.path)).filter { $0.hasSuffix(".swift") }
        #expect(files.count > 50)
        // `x.write(to:` except `AtomicOutput.write(to:` (Porter's own), `write(toFile:`, `atomically: true|false`.
        let foundation = try NSRegularExpression(pattern: #"(?<!AtomicOutput)\.write\(to:|\bwrite\(toFile:|atomically: *(true|false)"#)
        var offenders: [String] = []
        for file in files where !allowed.contains(file) {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let l = String(line)
                if l.trimmingCharacters(in: .whitespaces).hasPrefix("//") { continue }
                if foundation.firstMatch(in: l, range: NSRange(l.startIndex..., in: l)) != nil {
                    offenders.append("\(file):\(i + 1): \(l.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(offenders.isEmpty, "\(offenders.joined(separator: "\n"))")
    }
}
