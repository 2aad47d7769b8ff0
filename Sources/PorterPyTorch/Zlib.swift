import CZlib
import Foundation

/// zlib's raw inflate and CRC-32, for zip entries.
enum Zlib {
    /// Inflates a raw deflate stream that must produce exactly `expectedSize` bytes.
    static func inflateRaw(_ input: UnsafeRawBufferPointer, expectedSize: Int, label: String, entry: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: expectedSize)
        var stream = z_stream()
        guard porter_inflate_init_raw(&stream) == Z_OK else {
            throw PyTorchError.inflateFailed(path: label, entry: entry, reason: "zlib init failed")
        }
        defer { inflateEnd(&stream) }
        let status: Int32 = out.withUnsafeMutableBytes { dst in
            var inOffset = 0
            var outOffset = 0
            var result: Int32 = Z_OK
            // zlib counts in UInt32: feed and drain in chunks.
            let chunk = 1 << 30
            repeat {
                let inCount = min(chunk, input.count - inOffset)
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) + inOffset })
                stream.avail_in = UInt32(inCount)
                let outCount = min(chunk, expectedSize - outOffset)
                // One spare byte of room detects streams that produce more than declared.
                var spare: UInt8 = 0
                if outCount == 0 {
                    result = withUnsafeMutablePointer(to: &spare) { p -> Int32 in
                        stream.next_out = p
                        stream.avail_out = 1
                        let r = inflate(&stream, Z_FINISH)
                        return stream.avail_out == 0 ? Z_BUF_ERROR : r
                    }
                    break
                }
                stream.next_out = dst.baseAddress!.assumingMemoryBound(to: UInt8.self) + outOffset
                stream.avail_out = UInt32(outCount)
                let beforeIn = stream.avail_in
                result = inflate(&stream, Z_NO_FLUSH)
                inOffset += Int(beforeIn - stream.avail_in)
                outOffset += outCount - Int(stream.avail_out)
                if result != Z_OK { break }
                if stream.avail_in == 0 && inOffset >= input.count && stream.avail_out > 0 { result = Z_DATA_ERROR; break }
            } while true
            if result == Z_STREAM_END && outOffset != expectedSize { return Z_DATA_ERROR }
            return result
        }
        guard status == Z_STREAM_END else {
            throw PyTorchError.inflateFailed(path: label, entry: entry, reason: "deflate stream is corrupt or does not match its declared size \(expectedSize) (zlib status \(status))")
        }
        return out
    }

    static func crc32(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        var crc = UInt(initial)
        var offset = 0
        while offset < bytes.count {
            let n = min(1 << 30, bytes.count - offset)
            crc = CZlib.crc32(crc, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset, UInt32(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }
}
