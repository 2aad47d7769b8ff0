import FuzzSupport
import PorterCore
import PorterPipeline
import PorterTokenizers

// A `.gguf` file read by the pipeline's GGUF reader (magic, version, metadata of every value
// type with nested arrays, alignment, tensor infos, offsets and overlaps), as
// `porter inspect x.gguf` does; every tensor's bytes are then materialised (quantized blocks
// dequantized), and the file is scanned as `porter scan` does (chat-template review). When the
// metadata holds a tokenizer (`tokenizer.ggml.*`), it is built as `porter tokenize x.gguf` and the
// verifier build it (GGUFVocab → tokenizer.json → Tokenizer) and encodes a few texts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "model.gguf")
    if let (_, model) = try? Pipeline().read(url, format: "gguf") {
        for e in model.tensors { _ = try? e.tensor.contiguousBytes() }
        if let metadata = model.config.objectValue, GGUFVocab.present(in: metadata),
           let tokenizer = try? GGUFVocab(metadata: metadata, file: "model.gguf").tokenizer(file: "model.gguf") {
            for text in ["", "Hello, world! 123", "  tabs\tand\nnewlines  ", "Café 日本語 👨\u{200D}👩", "<s>[CLS]</s><|endoftext|>"] {
                _ = try? tokenizer.encode(text, addSpecialTokens: true)
            }
        }
    }
    _ = try? Pipeline().scan(url)
    return 0
}
