// Chunk bytes for the seed (and later peers), read straight from the store paths on disk via
// each path's NarIndex, built the first time one of its chunks is asked for.
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

    public init(store: StoreRoot) { self.store = store }

    /// Makes every chunk of `manifest` servable.
    public func add(_ manifest: Manifest) {
        for p in manifest.paths {
            for (i, id) in p.chunks.enumerated() where locations[id] == nil {
                locations[id] = Where(path: p.storePath, range: manifest.layout.range(of: i, narSize: p.narSize))
            }
        }
    }

    public func has(_ id: ChunkID) -> Bool { locations[id] != nil }

    /// The chunk's bytes, or nil if this server does not hold it.
    public func read(_ id: ChunkID) throws(StoreError) -> [UInt8]? {
        guard let location = locations[id] else { return nil }
        let index: NarIndex
        if let cached = indexes[location.path] {
            index = cached
        } else {
            index = try NarIndex.build(realPath: store.realPath(location.path))
            indexes[location.path] = index
        }
        var out: [UInt8] = []
        out.reserveCapacity(Int(location.range.count))
        try index.read(location.range, into: &out)
        return out
    }
}
