import Foundation
import PorterTokenizers

// tokenizer.json parsed as `porter tokenize` and the verifier's tokenizer level parse it; a file that
// parses then encodes the hard texts and the input's own bytes read as text (normalizers, split patterns,
// models and post-processors all run on what the file declared). It is also made into GGUF tokenizer
// metadata as the GGUF writer makes it (byte-level BPE through the pre-tokenizer table, SentencePiece
// ports with scores made from the merges), and that metadata read back.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    if let vocab = try? GGUFVocab.fromTokenizerJSON([UInt8](bytes), config: nil, file: "fuzz.json") {
        _ = try? GGUFVocab(metadata: vocab.keyValues, file: "fuzz.gguf").tokenizerJSON(file: "fuzz.gguf")
    }
    guard let tokenizer = try? TokenizerJSON.parse(bytes, file: "fuzz.json") else { return 0 }
    let texts = ["", "Hello, world! 123", "  tabs\tand\nnewlines  ", "Café 日本語 👨\u{200D}👩", "<s>[CLS]</s>",
                 String(decoding: bytes.prefix(512), as: UTF8.self)]
    for t in texts {
        for special in [true, false] {
            do {
                _ = try tokenizer.encode(t, addSpecialTokens: special)
            } catch TokenizerError.regexTimeLimit {
                return 0  // a pattern stopped by Porter's time limit (5 s): refused as designed; no more texts
            } catch {}
        }
    }
    return 0
}
