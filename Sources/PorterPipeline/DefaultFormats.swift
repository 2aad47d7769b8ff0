import Foundation
import PorterCore

extension FormatRegistry {
    /// Every reader and writer this build of Porter has. Adding a format means adding
    /// it here, and nowhere else.
    public static var porterDefault: FormatRegistry {
        FormatRegistry(readers: [], writers: [])
    }
}
