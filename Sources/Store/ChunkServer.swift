// Chunk bytes for the seed (and later peers), read straight from the store paths on disk via
// each path's NarIndex, built the first time one of its chunks is asked for. Only the most
// recently built indexes are kept, up to a number of segments (about 100 bytes each): a booted
// peer serves a whole system (hundreds of thousands of files), and its memory must not grow with
// it. Building an index reads the path once, so the bound is generous.
import NixFormats
import Swarm

public final class ChunkServer {
    private struct Where {
        let path: StorePath
        let range: Range<UInt64>
    }

    private let store: StoreRoot
    private var locations: [ChunkID: Where] = [:]
    private var indexes: [StorePath: NarIndex] = [:]
    /// Paths of `indexes`, oldest first, from `oldest` on (the ones before are evicted; the
    /// array is compacted once they are half of it, so an eviction costs O(1) amortised).
    private var indexOrder: [StorePath] = []
    private var oldest = 0
    /// Segments of the indexes kept: at most `maxSegments`, unless one index alone has more.
    public private(set) var segmentsKept = 0
    private let maxSegments: Int

    public init(store: StoreRoot, maxSegments: Int = 1 << 18) {
        self.store = store
        self.maxSegments = maxSegments
    }

    /// Makes every chunk of `manifest` servable.
    public func add(_ manifest: Manifest) {
        locations.reserveCapacity(locations.count + manifest.paths.reduce(0) { $0 + $1.chunks.count })
        for p in manifest.paths {
            for (i, id) in p.chunks.enumerated() where locations[id] == nil {
                locations[id] = Where(path: p.storePath, range: manifest.layout.range(of: i, narSize: p.narSize))
            }
        }
    }

    public func has(_ id: ChunkID) -> Bool { locations[id] != nil }

    /// The chunk's bytes, or nil if this server does not hold it.
    public func read(_ id: ChunkID) throws(StoreError) -> [UInt8]? {
        guard let (index, range) = try locate(id) else { return nil }
        return try index.bytes(range)
    }

    /// The chunk as pieces of files and framing, nothing read yet (a socket can send file pieces
    /// straight from the page cache), or nil if this server does not hold it.
    public func outgoing(_ id: ChunkID) throws(StoreError) -> OutgoingChunk? {
        guard let (index, range) = try locate(id) else { return nil }
        return try OutgoingChunk(pieces: index.pieces(range))
    }

    private func locate(_ id: ChunkID) throws(StoreError) -> (NarIndex, Range<UInt64>)? {
        guard let location = locations[id] else { return nil }
        if let cached = indexes[location.path] { return (cached, location.range) }
        let index = try NarIndex.build(realPath: store.realPath(location.path))
        while oldest < indexOrder.count && segmentsKept + index.segments.count > maxSegments {
            segmentsKept -= indexes.removeValue(forKey: indexOrder[oldest])?.segments.count ?? 0
            oldest += 1
        }
        if oldest > indexOrder.count / 2 {
            indexOrder.removeFirst(oldest)
            oldest = 0
        }
        indexes[location.path] = index
        indexOrder.append(location.path)
        segmentsKept += index.segments.count
        return (index, location.range)
    }
}
