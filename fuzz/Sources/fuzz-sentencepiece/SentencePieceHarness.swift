import Foundation
import PorterTokenizers

// tokenizer.model (SentencePiece's ModelProto) parsed and built as `porter tokenize` and the
// verifier's tokenizer level build it: pieces, trainer and normalizer specs, the precompiled
// charsmap (its trie and replacement table); a model that builds then encodes the hard texts and
// the input's own bytes read as text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    guard let proto = try? SentencePieceModel.parse(bytes, file: "fuzz.model"),
          let tokenizer = try? SentencePieceModel.tokenizer(proto, file: "fuzz.model") else { return 0 }
    let texts = ["", "Hello, world! 123", "  tabs\tand\nnewlines  ", "Café 日本語 👨\u{200D}👩", "ヘ\u{3099} ｶﾞ ①",
                 "<s></s><unk>", String(decoding: bytes.prefix(512), as: UTF8.self)]
    for t in texts {
        for special in [true, false] { _ = try? tokenizer.encode(t, addSpecialTokens: special) }
    }
    return 0
}
