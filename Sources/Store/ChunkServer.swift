// Chunk bytes for the seed (and later peers), read straight from the store paths on disk via
// each path's NarIndex, built the first time one of its chunks is asked for. Only the most
// recently built indexes are kept, up to a number of segments (about 100 bytes each): a booted
// peer serves a whole system (hundreds of thousands of files), and its memory must not grow with
// it. Building an index reads the path once, so the bound is generous. A chunk that repeats (the
// same bytes in several paths) is read from the first of its paths that is on this disk: a
// client holds only some paths of a manifest, and a path being restored is not there yet.
import NixFormats
import Sodium
import Swarm

public final class ChunkServer {
    private struct Where {
        let path: StorePath
        let range: Range<UInt64>
    }

    private let store: StoreRoot
    private var locations: [ChunkID: Where] = [:]
    /// Where else the chunks that repeat are, one place per further path (rare: kept apart so
    /// that the common chunk costs no array).
    private var elsewhere: [ChunkID: [Where]] = [:]
    /// Paths added: the same NAR in the same chunk size again gives the same chunks (every
    /// generation's manifest lists most paths of the one before).
    private var added: Set<Added> = []

    private struct Added: Hashable {
        let path: StorePath
        let narHash: Digest256
        let chunkSize: UInt32
    }
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
        for p in manifest.paths
        where added.insert(Added(path: p.storePath, narHash: p.narHash, chunkSize: manifest.layout.chunkSize)).inserted
        {
            for (i, id) in p.chunks.enumerated() {
                let place = Where(path: p.storePath, range: manifest.layout.range(of: i, narSize: p.narSize))
                guard let first = locations[id] else {
                    locations[id] = place
                    continue
                }
                // One place per path (a path's own repeats were just added, so they are the last).
                if first.path != p.storePath && elsewhere[id]?.last?.path != p.storePath {
                    elsewhere[id, default: []].append(place)
                }
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
        guard let first = locations[id] else { return nil }
        do {
            return (try index(first.path), first.range)
        } catch {
            // Not on this disk (or unreadable): another path may hold the same bytes.
            for place in elsewhere[id] ?? [] {
                if let index = try? index(place.path) { return (index, place.range) }
            }
            throw error
        }
    }

    private func index(_ path: StorePath) throws(StoreError) -> NarIndex {
        if let cached = indexes[path] { return cached }
        let index = try NarIndex.build(realPath: store.realPath(path))
        while oldest < indexOrder.count && segmentsKept + index.segments.count > maxSegments {
            segmentsKept -= indexes.removeValue(forKey: indexOrder[oldest])?.segments.count ?? 0
            oldest += 1
        }
        if oldest > indexOrder.count / 2 {
            indexOrder.removeFirst(oldest)
            oldest = 0
        }
        indexes[path] = index
        indexOrder.append(path)
        segmentsKept += index.segments.count
        return index
    }
}
