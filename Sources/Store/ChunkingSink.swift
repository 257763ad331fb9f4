// Cuts a NAR stream into chunks as it passes: BLAKE2b-256 per chunk and SHA-256 of the whole,
// in one pass, holding no chunk in memory. What `rookery publish` runs over every store path.
import Sodium

public struct ChunkingSink: ByteSink {
    public let chunkSize: Int
    public private(set) var chunkDigests: [Digest256] = []
    public private(set) var count: UInt64 = 0
    private let narHasher = SHA256()
    private var chunkHasher = Blake2b256()
    private var inChunk = 0

    public init(chunkSize: Int) {
        precondition(chunkSize > 0)
        self.chunkSize = chunkSize
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        narHasher.update(bytes)
        count += UInt64(bytes.count)
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
