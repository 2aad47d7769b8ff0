import Foundation

/// A reader whose format holds no pickles. `porter scan` asks it for the format's own
/// hazards (bytes it would read from other files, plugins it would load, paths outside the
/// model) instead of scanning the file as a pickle.
public protocol HazardChecking {
    /// One sentence per hazard, naming where in the file it is; empty when there is none.
    /// Throws the reader's typed error when the file cannot be read as this format.
    func hazards(of url: URL) throws -> [String]
}
