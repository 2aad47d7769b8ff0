import Foundation

/// A reader whose format holds no pickles. `porter scan` asks it for the format's own
/// hazards (bytes it would read from other files, plugins it would load, paths outside the
/// model) instead of scanning the file as a pickle.
public protocol HazardChecking {
    /// One sentence per hazard, naming where in the file it is; empty when there is none.
    /// Throws the reader's typed error when the file cannot be read as this format.
    func hazards(of url: URL) throws -> [String]
}

/// A reader whose models carry a model card (an asset of kind `model-card`) that should say
/// how the model was converted and, after verification, with what outcome. The pipeline
/// asks the reader of the model's `sourceFormat` to refresh the card after converting and
/// again after verifying.
public protocol ModelCardWriting {
    /// `model` with its card rewritten to record `command` and `verification` (one line per
    /// verification level; empty before verification).
    func refreshingCard(_ model: NeutralModel, command: String?, verification: [String]) -> NeutralModel
}

/// A reader of a folder format whose safety is that of the files it would load (a
/// Hugging Face folder's weights files, their shards). `porter scan` on such a folder scans
/// each file and reports them together.
public protocol ScanTargeting {
    /// The files a scan of the folder at `url` must cover, in the order a loader tries them.
    func scanTargets(of url: URL) throws -> [URL]
}

/// A reader whose format holds pickles (torch checkpoints of every era, raw pickles).
/// `porter scan` asks it to inventory and classify them, unpickling nothing. The first such
/// reader in the registry also scans files no reader claims: `torch.load` would unpickle them.
public protocol PickleScanning {
    /// The inventory and verdict of every pickle the loader would run; throws the reader's
    /// typed error when the container itself cannot be read.
    func scanPickles(of url: URL) throws -> ScanReport
}

/// A reader that reads in a child process of the `porter` binary because the library it
/// uses cannot be trusted with hostile bytes (libhdf5). The executable hands such a child
/// invocation to the reader before anything else runs, and lets each reader switch its
/// isolation on.
public protocol ChildProcessReading {
    /// Runs the child's work when `arguments` are this reader's internal child invocation
    /// and returns its exit status; nil when they are not.
    func runChild(arguments: [String]) -> Int32?
    /// Makes this process read the format in child processes of `executable`.
    func enableChildProcesses(executable: String)
}

/// A `HazardChecking` reader whose format can carry things a person should look at before
/// use without making Porter refuse the file (a GGUF chat template: Jinja that chat
/// front-ends execute). `porter scan` reports each as a finding with the review verdict.
public protocol ReviewChecking {
    /// One sentence per item, naming where in the file it is; empty when there is none.
    func reviews(of url: URL) throws -> [String]
}
