// Cuts a NAR stream into chunks as it passes: BLAKE2b-256 per chunk and SHA-256 of the whole,
// in one pass. What `rookery publish` runs over every store path. Whole chunks are gathered
// until one lane-parallel call's worth is in (`Blake2b256.lanes` of them: 1 MiB of 128 KiB
// chunks on AVX-512), so the chunk ids cost a quarter of one stream's CPU time. Given a side
// thread, the SHA-256 of each gathered buffer runs there while this thread hashes its chunks
// and fills the other buffer: SHA-256 alone then sets the pace (before, the two met at every
// write and publish took their sum). A large file is read straight into the gather buffer
// (`write(file:)`), not through the dumper's buffers: 40 ms less CPU for 512 MiB.
import Sodium
import Store

public struct ChunkingSink: ByteSink {
    public let chunkSize: Int
    public private(set) var chunkDigests: [Digest256] = []
    public private(set) var count: UInt64 = 0
    private let narHasher = SHA256()
    private let buffers: GatherBuffers
    /// Bytes in the buffer being filled: whole chunks, but for the stream's last.
    private var filled = 0
    /// Buffers smaller than this are hashed on the caller's thread alone (waking a thread costs
    /// more than hashing a few KiB).
    static let splitThreshold = 32 * 1024

    public init(chunkSize: Int, side: SideThread? = nil) {
        precondition(chunkSize > 0)
        self.chunkSize = chunkSize
        buffers = GatherBuffers(capacity: chunkSize * Blake2b256.lanes, side: side)
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        count += UInt64(bytes.count)
        var offset = 0
        while offset < bytes.count {
            let target = buffers.filling
            let n = min(target.count - filled, bytes.count - offset)
            UnsafeMutableRawBufferPointer(rebasing: target[filled..<(filled + n)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            filled += n
            offset += n
            if filled == target.count { hashFilled() }
        }
    }

    public mutating func write(file fd: Int32, count: UInt64, path: String, scratch: UnsafeMutableRawBufferPointer)
        throws(StoreError)
    {
        var offset: UInt64 = 0
        while offset < count {
            let target = buffers.filling
            let n = Int(min(UInt64(target.count - filled), count - offset))
            try FileIO.read(
                fd: fd, at: offset, into: UnsafeMutableRawBufferPointer(rebasing: target[filled..<(filled + n)]),
                name: path)
            filled += n
            offset += UInt64(n)
            self.count += UInt64(n)
            if filled == target.count { hashFilled() }
        }
    }

    private mutating func hashFilled() {
        let full = UnsafeRawBufferPointer(rebasing: buffers.filling[0..<filled])
        let sha = narHasher
        if let side = buffers.side {
            // The buffer before this one is the other: its SHA-256 comes first, and it is
            // filled next.
            side.wait()
            if full.count >= Self.splitThreshold { side.start { sha.update(full) } } else { sha.update(full) }
        } else {
            sha.update(full)
        }
        let chunks = stride(from: 0, to: full.count, by: chunkSize).map {
            UnsafeRawBufferPointer(rebasing: full[$0..<min($0 + chunkSize, full.count)])
        }
        chunkDigests += Blake2b256.hash(each: chunks)
        buffers.swap()
        filled = 0
    }

    /// Ends the stream: the NAR's SHA-256 and the digests of all its chunks.
    public mutating func finish() -> (narHash: Digest256, narSize: UInt64, chunks: [Digest256]) {
        if filled > 0 { hashFilled() }
        buffers.side?.wait()
        return (narHasher.finalize(), count, chunkDigests)
    }
}

/// A sink's two gather buffers, allocated when first filled: the side thread reads one while
/// the caller fills the other. Freed only once the side thread is done with them (a dump that
/// throws drops its sink mid-stream).
private final class GatherBuffers {
    let capacity: Int
    let side: SideThread?
    private var buffers: [UnsafeMutableRawBufferPointer?] = [nil, nil]
    private var current = 0

    init(capacity: Int, side: SideThread?) {
        self.capacity = capacity
        self.side = side
    }

    var filling: UnsafeMutableRawBufferPointer {
        if let b = buffers[current] { return b }
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        buffers[current] = b
        return b
    }

    func swap() { current = 1 - current }

    deinit {
        side?.wait()
        for b in buffers { b?.deallocate() }
    }
}
