import Foundation
import PorterCore
import PorterTokenizers

/// fairseq's own tokenizer of a translation model, run in Swift: fastBPE's codes (`bpecodes`) applied to
/// each whitespace-separated word of pre-tokenized text (Moses tokenization is not run: the texts are
/// taken as already tokenized), the subwords spelled as fastBPE writes them (`tok@@` inside a word),
/// looked up in the source dictionary (`<unk>` for a missing one), `</s>` appended — fairseq's
/// `encode_line(apply_bpe(text), append_eos=True)`.
public enum FairseqTokenizer {
    /// The tokenizer of a dictionary and its codes.
    public static func tokenizer(dictionary: FairseqDictionary, codes: BPECodes, file: String) throws -> Tokenizer {
        var vocab = Vocabulary()
        for (name, index) in dictionary.indices { vocab[name] = index }
        let eos = FairseqDictionary.specialSymbols[FairseqDictionary.eosIndex]
        let model = try WordBPE(vocab: vocab, merges: codes.merges.map { ($0.left, $0.right) }, spelling: .continuationMarker,
                                unkToken: FairseqDictionary.specialSymbols[FairseqDictionary.unkIndex], file: file)
        return try Tokenizer(model: .wordBPE(model), preTokenizer: .whitespaceSplit,
                             postProcessor: .template(single: [.sequence(typeId: 0), .special(eos, typeId: 0)],
                                                      specials: [eos: (ids: [FairseqDictionary.eosIndex], tokens: [eos])]),
                             origin: "fairseq dictionary + bpecodes")
    }

    /// The source-language tokenizer beside a fairseq checkpoint (`url`: the checkpoint or its folder):
    /// `dict.<lang>.txt` (else `dict.txt`) and `bpecodes`. Nil when the folder has no codes or dictionary.
    public static func load(beside url: URL, sourceLang: String) throws -> (tokenizer: Tokenizer, files: String)? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { return nil }
        let folder = isDir.boolValue ? url : url.deletingLastPathComponent()
        let names = Set(FairseqFolder.listing(folder))
        guard names.contains("bpecodes"), let dict = ["dict.\(sourceLang).txt", "dict.txt"].first(where: names.contains) else { return nil }
        let d = try FairseqDictionary(contentsOf: folder.appendingPathComponent(dict))
        let codes = try BPECodes(contentsOf: folder.appendingPathComponent("bpecodes"))
        return (try tokenizer(dictionary: d, codes: codes, file: folder.appendingPathComponent("bpecodes").path), "\(dict) + bpecodes")
    }
}
