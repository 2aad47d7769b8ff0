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
        Exit codes: 0 success, 1 error, 2 usage error, 3 verification failed; 130, 143, 129 interrupted by SIGINT, SIGTERM, SIGHUP (temporary outputs removed).
        """,
        version: PorterVersion.current,
        subcommands: [InspectCommand.self, ConvertCommand.self, VerifyCommand.self, ScanCommand.self, FormatsCommand.self, MappingsCommand.self, TinyCommand.self, TokenizeCommand.self, RunCommand.self,
                      ReferenceScriptCommand.self, CheckCommand.self]
    )
}

extension PorterCommand {
    /// The subcommand names (and `help`), as ArgumentParser knows them.
    static var commandNames: [String] {
        configuration.subcommands.map { $0._commandName } + ["help"]
    }
}

@main
enum PorterMain {
    /// Runs the command and maps every outcome to Porter's documented exit codes.
    static func main() {
        if let status = ProcessSetup.prepare(arguments: CommandLine.arguments) { Foundation.exit(status) }
        if let message = UnknownCommand.message(CommandLine.arguments.dropFirst().first, known: PorterCommand.commandNames) {
            FileHandle.standardError.write(Data("porter: error: \(message)\n".utf8))
            ProcessSetup.exit(2)
        }
        do {
            let arguments = DeclaredFlags.expand(Array(CommandLine.arguments.dropFirst()), registry: Pipeline().registry)
            var command = try PorterCommand.parseAsRoot(arguments)
            try command.run()
            ProcessSetup.exit(0)
        } catch let code as ExitCode {
            ProcessSetup.exit(code.rawValue)
        } catch {
            let code = PorterCommand.exitCode(for: error)
            if code == .success {
                PorterCommand.exit(withError: error)  // --help, --version
            }
            if code == .validationFailure || error is FormatOptionError {
                let message = (error as? FormatOptionError).map { "porter: error: \(UnknownCommand.describe($0))" } ?? PorterCommand.fullMessage(for: error)
                FileHandle.standardError.write(Data((message + "\n").utf8))
                ProcessSetup.exit(2)
            }
            let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            FileHandle.standardError.write(Data("porter: error: \(message)\n".utf8))
            ProcessSetup.exit(1)
        }
    }
}
