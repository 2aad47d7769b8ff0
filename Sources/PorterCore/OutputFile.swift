import Foundation
import CPorterSys
#if canImport(Glibc)
import Glibc
#endif

/// A file being written sequentially. Tensors stream into it one at a time: bytes that
/// sit unchanged in a source file are copied by the kernel (`copy_file_range`), so they
/// never pass through (or stay in) Porter's memory.
public final class OutputFile {
    public let path: String
    private let fd: Int32
    public private(set) var bytesWritten: Int = 0
    private var closed = false

    /// Creates (truncating) the file at `path`.
    public init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CoreError.cannotWrite(path: path, reason: posixMessage()) }
        self.path = path
        self.fd = fd
    }

    deinit { if !closed { Glibc.close(fd) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let chunk = TestPause.allowance(bytes.count - done)
            var written = 0
            while written < chunk {
                let n = Glibc.write(fd, bytes.baseAddress! + done + written, chunk - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CoreError.cannotWrite(path: path, reason: posixMessage())
                }
                written += n
            }
            done += chunk
            TestPause.wrote(chunk, to: path)
        }
        bytesWritten += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Writes `count` zero bytes (padding).
    public func writeZeros(_ count: Int) throws {
        if count > 0 { try write([UInt8](repeating: 0, count: count)) }
    }

    /// Copies `count` bytes at `offset` of `source` into this file, in the kernel where
    /// it can, else through one bounded buffer.
    public func copy(from source: OpenFile, offset: Int, count: Int) throws {
        try source.checkRange(offset: offset, count: count)
        var inOff = Int64(offset)
        var left = count
        while left > 0 {
            let allowed = TestPause.allowance(left)
            if allowed == 0 { TestPause.wrote(0, to: path) }  // the test hook's limit: pauses here
            let n = porter_copy_file_range(source.fd, &inOff, fd, allowed)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP {
                    try copyThroughBuffer(from: source, offset: Int(inOff), count: left)
                    return
                }
                throw CoreError.cannotWrite(path: path, reason: "copy from \(source.path): \(posixMessage())")
            }
            if n == 0 { throw CoreError.truncated(source: source.path, offset: Int(inOff), needed: left, available: 0) }
            left -= n
            bytesWritten += n
            TestPause.wrote(n, to: path)
        }
    }

    private func copyThroughBuffer(from source: OpenFile, offset: Int, count: Int) throws {
        let chunk = 4 << 20
        var buffer = [UInt8](repeating: 0, count: min(chunk, count))
        var done = 0
        while done < count {
            let n = min(chunk, count - done)
            try buffer.withUnsafeMutableBytes { try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<n]), offset: offset + done) }
            try buffer.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            done += n
        }
    }

    /// Writes a tensor's contiguous little-endian bytes: a kernel copy when the source
    /// file already holds them that way, otherwise materialised once.
    /// Storages that stream in chunks (`ChunkedByteSource`, e.g. a `--dtype` cast) write
    /// chunk by chunk and are never materialised whole.
    public func write(tensor: TensorRef) throws {
        if tensor.isDirectlyReadable, case let .file(file, base) = tensor.storage.backing {
            let range = tensor.contiguousByteRange
            try copy(from: file, offset: base + range.lowerBound, count: range.count)
        } else if tensor.isDirectlyReadable, let chunked = tensor.storage.chunked {
            try chunked.write(tensor.contiguousByteRange, to: self)
        } else {
            try tensor.withContiguousBytes { try write($0) }
        }
    }

    /// Writes `data` as the whole file at `url` (created or truncated), for small files
    /// (index files, reports, model cards, configs). Unlike Foundation's `Data.write`, which
    /// fsyncs, nothing is flushed to disk unless `syncToDisk` (`--fsync`); inside an
    /// `AtomicOutput` staging folder leave it false: `AtomicOutput` syncs the whole tree.
    public static func write(_ data: Data, to url: URL, syncToDisk: Bool = false) throws {
        let file = try OutputFile(path: url.path)
        try file.write(data)
        try file.close()
        if syncToDisk { try DiskSync.file(url.path) }
    }

    /// Writes at absolute positions from several threads (`pwrite`), for chunks produced
    /// in parallel; the caller then moves the end with `advance(by:)`.
    public struct PositionalWriter: @unchecked Sendable {
        let fd: Int32
        let path: String

        public func write(_ bytes: UnsafeRawBufferPointer, at position: Int) throws {
            var done = 0
            while done < bytes.count {
                let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(position + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CoreError.cannotWrite(path: path, reason: posixMessage())
                }
                done += n
            }
            TestPause.wrote(bytes.count, to: path)
        }
    }

    public func positionalWriter() -> PositionalWriter { PositionalWriter(fd: fd, path: path) }

    /// Counts `count` bytes written past the end by a `PositionalWriter` and moves the
    /// file offset after them, so sequential writes continue there.
    public func advance(by count: Int) throws {
        guard lseek(fd, off_t(bytesWritten + count), SEEK_SET) >= 0 else {
            throw CoreError.cannotWrite(path: path, reason: posixMessage())
        }
        bytesWritten += count
    }

    /// Closes the file. Flushing to disk is `AtomicOutput`'s job (`syncToDisk`), done once
    /// for everything a writer produced, before the output is moved into place.
    public func close() throws {
        guard !closed else { return }
        closed = true
        guard Glibc.close(fd) == 0 else { throw CoreError.cannotWrite(path: path, reason: posixMessage()) }
    }
}
