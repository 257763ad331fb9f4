// The chunk ids of a whole NAR, as publish computes them while it streams (tests that build a
// manifest from a NAR in memory).
import Swarm

/// The BLAKE2b-256 ids of `nar`'s chunks in `layout`, in NAR order.
public func chunkIDs(of nar: [UInt8], layout: ChunkLayout) -> [ChunkID] {
    (0..<layout.chunkCount(narSize: UInt64(nar.count))).map { i in
        let r = layout.range(of: i, narSize: UInt64(nar.count))
        return ChunkID(of: nar[Int(r.lowerBound)..<Int(r.upperBound)])
    }
}
