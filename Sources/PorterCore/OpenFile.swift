import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A read-only open file shared by every tensor that lives in it. Closed on deinit.
public final class OpenFile: @unchecked Sendable {
    public let path: String
    public let fd: Int32
    public let size: Int

    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CoreError.cannotOpen(path: path, reason: posixMessage()) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let msg = posixMessage()
            close(fd)
            throw CoreError.cannotOpen(path: path, reason: msg)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw CoreError.notAFile(path: path)
        }
        self.path = path
        self.fd = fd
        self.size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Reads exactly `count` bytes at `offset` (bounds-checked against the file size).
    public func read(offset: Int, count: Int) throws -> [UInt8] {
        try checkRange(offset: offset, count: count)
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try readFully(into: $0, offset: offset) }
        return out
    }

    /// Fills `buffer` from `offset`, retrying short reads.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer, offset: Int) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw CoreError.cannotRead(path: path, offset: offset + done, reason: posixMessage())
            }
            if n == 0 {
                throw CoreError.truncated(source: path, offset: offset + done, needed: buffer.count - done, available: 0)
            }
            done += n
        }
    }

    public func checkRange(offset: Int, count: Int) throws {
        let (end, o) = offset.addingReportingOverflow(count)
        guard offset >= 0, count >= 0, !o else { throw CoreError.sizeOverflow(source: path, what: "range at \(offset) of \(count) bytes") }
        guard end <= size else {
            throw CoreError.truncated(source: path, offset: offset, needed: count, available: max(0, size - offset))
        }
    }

    /// Maps `[offset, offset+count)` read-only for the duration of `body`, then unmaps it,
    /// so the pages stop counting toward resident memory as soon as the caller is done.
    public func withMappedBytes<R>(offset: Int, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try checkRange(offset: offset, count: count)
        if count == 0 { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let alignedStart = offset - offset % page
        let lead = offset - alignedStart
        let length = lead + count
        guard let base = mmap(nil, length, PROT_READ, MAP_SHARED, fd, off_t(alignedStart)), base != MAP_FAILED else {
            throw CoreError.cannotRead(path: path, offset: offset, reason: "mmap: \(posixMessage())")
        }
        defer { munmap(base, length) }
        return try body(UnsafeRawBufferPointer(start: base + lead, count: count))
    }
}
