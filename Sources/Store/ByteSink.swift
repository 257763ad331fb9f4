// Where a dumped NAR goes: a file descriptor, a hasher, or both.
import Glibc
import Sodium

/// Receives a byte stream in order.
public protocol ByteSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError)
    /// True for a sink that needs only to know where file contents lie in the NAR (an index):
    /// the dumper then reads no file contents and calls `skipped` in their place.
    var skipsFileContents: Bool { get }
    /// A file's `length` content bytes, at `relativePath` under the dumped root, come here.
    mutating func skipped(relativePath: String, length: UInt64) throws(StoreError)
    /// Appends the first `count` bytes of the open file `fd` (`path`, for errors). The default
    /// reads them through `scratch`; a sink that gathers bytes anyway reads them straight into
    /// its own memory, one copy fewer.
    mutating func write(file fd: Int32, count: UInt64, path: String, scratch: UnsafeMutableRawBufferPointer)
        throws(StoreError)
}

extension ByteSink {
    public var skipsFileContents: Bool { false }
    public mutating func skipped(relativePath: String, length: UInt64) throws(StoreError) {}

    public mutating func write(file fd: Int32, count: UInt64, path: String, scratch: UnsafeMutableRawBufferPointer)
        throws(StoreError)
    {
        var offset: UInt64 = 0
        while offset < count {
            let piece = UnsafeMutableRawBufferPointer(
                rebasing: scratch[0..<Int(min(UInt64(scratch.count), count - offset))])
            try FileIO.read(fd: fd, at: offset, into: piece, name: path)
            try write(UnsafeRawBufferPointer(piece))
            offset += UInt64(piece.count)
        }
    }
}

/// Writes to a file descriptor, retrying short writes and EINTR.
public struct FileDescriptorSink: ByteSink {
    public let fd: Int32
    public let name: String

    public init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw .lastSystem("write", name)
            }
            offset += n
        }
    }
}

/// Collects the stream in memory: for small NARs (tests, the demo, benchmarks).
public struct MemorySink: ByteSink {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func write(_ raw: UnsafeRawBufferPointer) throws(StoreError) { bytes.append(contentsOf: raw) }
}

/// Hashes the stream with SHA-256 and counts it: a NAR's hash and size in one pass.
public struct NarHashingSink: ByteSink {
    public let hasher = SHA256()
    public private(set) var count: UInt64 = 0

    public init() {}

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        hasher.update(bytes)
        count += UInt64(bytes.count)
    }
}
