import Foundation
import FuzzSupport
import PorterMapping

// A mapping file (`--mapping FILE`): Mapping.load reads the file and parses it with
// Mapping.parse (JSON, rules, regular expressions, steps).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "mapping.json")
    _ = try? Mapping.load(url.path, searchPaths: [])
    return 0
}
