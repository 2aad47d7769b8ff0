import FuzzSupport
import PorterPipeline

// `porter scan`: the pickle scanner over whatever the file is (raw pickle, torch zip, legacy
// file, torch tar), never unpickling; then the report's JSON and text forms.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "input.pt")
    if let report = try? Pipeline().scan(url) {
        _ = try? report.json()
        _ = report.text()
    }
    return 0
}
