// Cuts a NAR stream into chunks as it passes: BLAKE2b-256 per chunk and SHA-256 of the whole,
// in one pass, holding no chunk in memory. What `rookery publish` runs over every store path.
// Given a side thread, each large write is hashed both ways at once, one hash per core.
import Sodium

public struct ChunkingSink: ByteSink {
    public let chunkSize: Int
    public private(set) var chunkDigests: [Digest256] = []
    public private(set) var count: UInt64 = 0
    private let narHasher = SHA256()
    private var chunkHasher = Blake2b256()
    private var inChunk = 0
    private let side: SideThread?
    /// Writes smaller than this are hashed on the caller's thread alone (waking a thread costs
    /// more than hashing a few KiB).
    static let splitThreshold = 32 * 1024

    public init(chunkSize: Int, side: SideThread? = nil) {
        precondition(chunkSize > 0)
        self.chunkSize = chunkSize
        self.side = side
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        count += UInt64(bytes.count)
        let sha = narHasher
        if let side, bytes.count >= Self.splitThreshold {
            side.together(side: { sha.update(bytes) }, here: { cut(bytes) })
        } else {
            sha.update(bytes)
            cut(bytes)
        }
    }

    private mutating func cut(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let n = min(chunkSize - inChunk, bytes.count - offset)
            chunkHasher.update(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            inChunk += n
            offset += n
            if inChunk == chunkSize { endChunk() }
        }
    }

    private mutating func endChunk() {
        chunkDigests.append(chunkHasher.finalize())
        chunkHasher = Blake2b256()
        inChunk = 0
    }

    /// Ends the stream: the NAR's SHA-256 and the digests of all its chunks.
    public mutating func finish() -> (narHash: Digest256, narSize: UInt64, chunks: [Digest256]) {
        if inChunk > 0 { endChunk() }
        return (narHasher.finalize(), count, chunkDigests)
    }
}
