// Cuts a NAR stream into chunks as it passes: BLAKE2b-256 per chunk and SHA-256 of the whole,
// in one pass. What `rookery publish` runs over every store path. Whole chunks are gathered
// until one lane-parallel call's worth is in (`Blake2b256.lanes` of them: 1 MiB of 128 KiB
// chunks on AVX-512), so the chunk ids cost a quarter of one stream's CPU time; given a side
// thread, the SHA-256 of each large write runs there meanwhile, and it alone sets the pace.
import Sodium

public struct ChunkingSink: ByteSink {
    public let chunkSize: Int
    public private(set) var chunkDigests: [Digest256] = []
    public private(set) var count: UInt64 = 0
    private let narHasher = SHA256()
    /// Chunks not yet hashed; the last may be partial.
    private var gathered: [UInt8] = []
    private let gatherLimit: Int
    private let side: SideThread?
    /// Writes smaller than this are hashed on the caller's thread alone (waking a thread costs
    /// more than hashing a few KiB).
    static let splitThreshold = 32 * 1024

    public init(chunkSize: Int, side: SideThread? = nil) {
        precondition(chunkSize > 0)
        self.chunkSize = chunkSize
        self.side = side
        gatherLimit = chunkSize * Blake2b256.lanes
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        count += UInt64(bytes.count)
        let sha = narHasher
        if let side, bytes.count >= Self.splitThreshold {
            side.together(side: { sha.update(bytes) }, here: { gather(bytes) })
        } else {
            sha.update(bytes)
            gather(bytes)
        }
    }

    private mutating func gather(_ bytes: UnsafeRawBufferPointer) {
        if gathered.capacity < gatherLimit { gathered.reserveCapacity(gatherLimit) }
        var offset = 0
        while offset < bytes.count {
            let n = min(gatherLimit - gathered.count, bytes.count - offset)
            gathered.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            offset += n
            if gathered.count == gatherLimit { hashGathered() }
        }
    }

    private mutating func hashGathered() {
        gathered.withUnsafeBytes { all in
            let chunks = stride(from: 0, to: all.count, by: chunkSize).map {
                UnsafeRawBufferPointer(rebasing: all[$0..<min($0 + chunkSize, all.count)])
            }
            chunkDigests += Blake2b256.hash(each: chunks)
        }
        gathered.removeAll(keepingCapacity: true)
    }

    /// Ends the stream: the NAR's SHA-256 and the digests of all its chunks.
    public mutating func finish() -> (narHash: Digest256, narSize: UInt64, chunks: [Digest256]) {
        if !gathered.isEmpty { hashGathered() }
        return (narHasher.finalize(), count, chunkDigests)
    }
}
