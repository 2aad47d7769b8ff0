import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PorterTokenizers

// porter-bench-tokenize TOKENIZER TEXTFILE [ROUNDS]: encodes every line of TEXTFILE (without special
// tokens), ROUNDS times, and prints one JSON line per round: seconds, MB/s, tokens, and a checksum of the ids
// (bench/tokenize.sh compares it with the tokenizers library's).
/// CPU time of this process (all threads), seconds.
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write(Data("usage: porter-bench-tokenize TOKENIZER TEXTFILE [ROUNDS]\n".utf8))
    exit(2)
}
do {
    let tok = try TokenizerLoader.load(URL(fileURLWithPath: args[1]))
    let data = try Data(contentsOf: URL(fileURLWithPath: args[2]))
    let text = String(decoding: data, as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let rounds = args.count > 3 ? Int(args[3]) ?? 1 : 1
    for r in 0..<rounds {
        var count = 0
        var sum: UInt64 = 0
        let t0 = Date()
        let c0 = cpuSeconds()
        for line in lines {
            let e = try tok.encode(line, addSpecialTokens: false)
            count += e.ids.count
            for id in e.ids { sum = sum &* 1_000_003 &+ UInt64(id) }
        }
        let s = Date().timeIntervalSince(t0)
        let cpu = cpuSeconds() - c0
        print("{\"engine\": \"porter\", \"round\": \(r), \"seconds\": \(String(format: "%.3f", s)), \"cpu_seconds\": \(String(format: "%.3f", cpu)), \"mb_per_s\": \(String(format: "%.2f", Double(data.count) / 1e6 / s)), \"tokens\": \(count), \"checksum\": \(sum)}")
    }
} catch {
    FileHandle.standardError.write(Data("porter-bench-tokenize: \((error as? LocalizedError)?.errorDescription ?? "\(error)")\n".utf8))
    exit(1)
}
