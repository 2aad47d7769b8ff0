import ArgumentParser
import Foundation
import PorterCore
import PorterPipeline

/// `porter`: ports model checkpoints between frameworks and proves each port correct.
struct PorterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "porter",
        abstract: "Port trained model checkpoints between frameworks, and prove each port correct.",
        discussion: """
        Exit codes: 0 success, 1 error, 2 usage error, 3 verification failed.
        """,
        version: PorterVersion.current,
        subcommands: [InspectCommand.self, ConvertCommand.self, VerifyCommand.self, ScanCommand.self, FormatsCommand.self, MappingsCommand.self]
    )
}

@main
enum PorterMain {
    /// Runs the command and maps every outcome to Porter's documented exit codes.
    static func main() {
        if let status = ProcessSetup.prepare(arguments: CommandLine.arguments) { exit(status) }
        do {
            var command = try PorterCommand.parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            let code = PorterCommand.exitCode(for: error)
            if code == .success {
                PorterCommand.exit(withError: error)  // --help, --version
            }
            if code == .validationFailure {
                FileHandle.standardError.write(Data((PorterCommand.fullMessage(for: error) + "\n").utf8))
                exit(2)
            }
            let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            FileHandle.standardError.write(Data("porter: error: \(message)\n".utf8))
            exit(1)
        }
    }
}
