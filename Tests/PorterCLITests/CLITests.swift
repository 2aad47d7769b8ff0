import Foundation
import Testing
import PorterTestSupport

@Suite struct CLIBasicsTests {
    @Test func usageErrorsExitTwo() throws {
        let r = try CLI.run(["convert", "a", "-o", "b", "--to", "safetensors", "--max-shard-size", "zz"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--max-shard-size"))
        #expect(try CLI.run(["inspect"]).status == 2)
        #expect(try CLI.run(["frobnicate"]).status == 2)
    }

    @Test func missingInputExitsOneWithOneLine() throws {
        let r = try CLI.run(["inspect", "/nonexistent/model.bin"])
        #expect(r.status == 1)
        #expect(r.stderr == "porter: error: /nonexistent/model.bin: cannot open: no such file or folder\n")
        #expect(r.stdout.isEmpty)
    }

    @Test(arguments: ["inspect", "convert", "formats", "mappings"])
    func everyCommandHasHelp(command: String) throws {
        let r = try CLI.run([command, "--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("USAGE: porter \(command)"))
    }

    @Test func versionPrints() throws {
        let r = try CLI.run(["--version"])
        #expect(r.status == 0 && r.stdout.hasPrefix("0."))
    }

    @Test func formatsListingMatchesGolden() throws {
        let r = try CLI.run(["formats"])
        #expect(r.status == 0)
        if let diff = try Golden.compare(r.stdout, to: "cli/formats.txt") { Issue.record(Comment(rawValue: diff)) }
    }

    @Test func mappingsListingMatchesGolden() throws {
        let r = try CLI.run(["mappings"])
        #expect(r.status == 0)
        if let diff = try Golden.compare(CLI.normalised(r.stdout), to: "cli/mappings.txt") { Issue.record(Comment(rawValue: diff)) }
    }
}
