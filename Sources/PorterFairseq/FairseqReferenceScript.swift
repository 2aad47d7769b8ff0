import Foundation
import PorterCore

/// `porter reference-script MODEL --framework fairseq`: fairseq itself loads the checkpoint
/// with its dictionaries (`checkpoint_utils.load_model_ensemble_and_task`, no BPE or
/// tokenizer: the inputs are ids) and runs its encoder and, teacher-forced, its decoder — the
/// outputs Porter's FSMT graph gives as `encoder_last_hidden_state` and `logits`.
///
/// fairseq takes no attention mask: it finds padding by the id `<pad>`. So the script puts
/// `<pad>` at the positions Porter's seeded mask pads, and masks any drawn `<pad>` elsewhere
/// too, and saves those ids and that mask: both sides pad the same positions.
extension FairseqReader: ReferenceScripting {
    public var referenceFrameworks: [String] { ["fairseq"] }

    /// The names of the FSMT graph's inputs and outputs, which the script feeds and fills.
    static let referenceInputs: Set<String> = ["input_ids", "attention_mask", "decoder_input_ids"]
    static let referenceOutputs: Set<String> = ["encoder_last_hidden_state", "logits"]

    public func referenceScript(for model: NeutralModel, request: ReferenceScriptRequest) throws -> ReferenceScriptPart {
        guard request.framework == "fairseq" else {
            throw ReferenceScriptError.frameworkNotAvailable(path: request.modelPath, format: info.id, framework: request.framework,
                                                             available: referenceFrameworks)
        }
        guard request.readOptions["layout"] ?? "fsmt" == "fsmt" else {
            throw ReferenceScriptError.cannotRun(path: request.modelPath, framework: "fairseq",
                                                 reason: "read with layout=fairseq, Porter builds no graph; leave the layout option out")
        }
        let inputs = Set(request.inputs.map(\.name)), outputs = Set(request.outputs)
        guard inputs == Self.referenceInputs, outputs.isSubset(of: Self.referenceOutputs), !outputs.isEmpty else {
            throw ReferenceScriptError.cannotRun(path: request.modelPath, framework: "fairseq", reason:
                "the graph's inputs (\(request.inputs.map(\.name).joined(separator: ", "))) and outputs (\(request.outputs.joined(separator: ", "))) "
                + "are not the FSMT graph's that the fairseq script feeds and fills")
        }
        let langs = model.config["langs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard langs.count == 2 else {
            throw ReferenceScriptError.cannotRun(path: request.modelPath, framework: "fairseq", reason: "the port's config names no source and target language (langs)")
        }
        guard let checkpoint = model.sourceFiles.first.map({ URL(fileURLWithPath: $0).lastPathComponent }), checkpoint.hasSuffix(".pt") else {
            throw ReferenceScriptError.cannotRun(path: request.modelPath, framework: "fairseq", reason: "the port names no checkpoint file")
        }
        let py = ReferenceScriptRequest.pythonString
        let body = """
            folder = MODEL if os.path.isdir(MODEL) else (os.path.dirname(MODEL) or ".")
            CHECKPOINT = os.path.join(folder, \(py(checkpoint)))
            # The checkpoint pickles its training arguments as argparse.Namespace, which torch's default
            # weights_only load (torch >= 2.6) refuses: that one class is allowed, nothing else.
            with torch.serialization.safe_globals([argparse.Namespace]):
                models, cfg, task = checkpoint_utils.load_model_ensemble_and_task(
                    [CHECKPOINT], arg_overrides={"data": folder, "source_lang": \(py(langs[0])), "target_lang": \(py(langs[1]))})
            model = models[0].float().eval()
            PAD = task.source_dictionary.pad()
            assert task.target_dictionary.pad() == PAD, "source and target dictionaries pad with different ids"
            # fairseq finds padding by the id <pad>, not by a mask: <pad> where the mask pads, and a
            # drawn <pad> elsewhere is masked too, so both sides pad the same positions.
            inputs["input_ids"][inputs["attention_mask"] == 0] = PAD
            inputs["attention_mask"] = (inputs["input_ids"] != PAD).astype(np.int64)
            with torch.no_grad():
                src_tokens = torch.from_numpy(inputs["input_ids"])
                encoder_out = model.encoder(src_tokens, src_lengths=torch.from_numpy(inputs["attention_mask"].sum(axis=1)))
                # Teacher-forced, without an incremental state: the decoder masks the future itself.
                logits, _ = model.decoder(torch.from_numpy(inputs["decoder_input_ids"]), encoder_out=encoder_out)
            computed = {
                "encoder_last_hidden_state": encoder_out["encoder_out"][0].transpose(0, 1).numpy(),  # fairseq is time-major
                "logits": logits.numpy(),
            }
            outputs = {name: computed[name] for name in \(request.pythonOutputNames)}
            recorded_by = f"fairseq {fairseq.__version__} (torch {torch.__version__})"
            """
        return ReferenceScriptPart(
            requirements: ["torch==2.13.0+cpu", "numpy==2.4.6", "fairseq-fixed==0.12.3.1"],
            imports: ["import argparse", "import os", "import torch", "import fairseq", "from fairseq import checkpoint_utils"],
            body: body, recordedBy: "fairseq 0.12.3.1 (torch 2.13.0)",
            assumptions: [
                "MODEL is a fairseq translation model: a folder with \(checkpoint) and its dictionaries",
                "dict.\(langs[0]).txt and dict.\(langs[1]).txt (or dict.txt); the inputs are ids, so no BPE runs.",
                "fairseq-fixed 0.12.3.1 is the fairseq Porter's fixtures were made with; it compiles against",
                "torch, numpy and Cython, hence the two pip steps.",
            ],
            buildFirst: ["torch==2.13.0+cpu", "numpy==2.4.6", "Cython==3.3.1", "setuptools", "wheel"])
    }
}
