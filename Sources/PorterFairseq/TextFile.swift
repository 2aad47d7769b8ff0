import Foundation

/// Reads a whole UTF-8 text file of at most `limit` bytes (dictionaries, BPE codes),
/// with errors naming the file; `what` names the kind of file in the size message.
func readUTF8Text(_ url: URL, limit: Int, what: String) throws -> String {
    let data: Data
    do {
        let attrs = try FileManager.default.attributesOfItem(atPath: url.path)
        if let size = attrs[.size] as? Int, size > limit {
            throw FairseqError.unreadableText(file: url.path, reason: "\(size) bytes is larger than \(what) can be (limit \(limit))")
        }
        data = try Data(contentsOf: url)
    } catch let error as FairseqError {
        throw error
    } catch {
        throw FairseqError.unreadableText(file: url.path, reason: "cannot read: \(error.localizedDescription)")
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw FairseqError.unreadableText(file: url.path, reason: "not UTF-8 text")
    }
    return text
}
