// The manifest's chunks numbered once: every distinct chunk id in order of first appearance
// (paths in manifest order, chunks in NAR order). Both ends derive it from the signed manifest,
// so HAVE and BITFIELD name chunks by a 4-byte index instead of a 32-byte id. A chunk id that
// repeats (identical files in two paths, a run of zeros inside one NAR) is one entry: it is
// fetched once and counts once in what a node holds.

public struct ChunkTable: Sendable {
    public let ids: [ChunkID]
    public let sizes: [UInt32]
    /// The bytes of the distinct chunks: what a fetch of every path moves, at most the NAR bytes.
    public let bytes: UInt64
    /// For each path of the manifest, the table indices of its chunks, in NAR order.
    public let pathChunks: [[Int]]
    private let indexByID: [ChunkID: Int]

    public init(manifest: Manifest) {
        var ids: [ChunkID] = []
        var sizes: [UInt32] = []
        var indexByID: [ChunkID: Int] = [:]
        var pathChunks: [[Int]] = []
        var bytes: UInt64 = 0
        pathChunks.reserveCapacity(manifest.paths.count)
        for path in manifest.paths {
            var indices: [Int] = []
            indices.reserveCapacity(path.chunks.count)
            for (i, id) in path.chunks.enumerated() {
                if let known = indexByID[id] {
                    indices.append(known)
                    continue
                }
                let range = manifest.layout.range(of: i, narSize: path.narSize)
                indexByID[id] = ids.count
                indices.append(ids.count)
                ids.append(id)
                sizes.append(UInt32(range.upperBound - range.lowerBound))
                bytes += range.upperBound - range.lowerBound
            }
            pathChunks.append(indices)
        }
        self.ids = ids
        self.sizes = sizes
        self.bytes = bytes
        self.indexByID = indexByID
        self.pathChunks = pathChunks
    }

    public var count: Int { ids.count }

    public func index(of id: ChunkID) -> Int? { indexByID[id] }

    /// True when `data` is chunk `index`: the right size and the BLAKE2b-256 of its id.
    public func verify(_ index: Int, _ data: ArraySlice<UInt8>) -> Bool {
        data.count == Int(sizes[index]) && ChunkID(of: data) == ids[index]
    }

    /// The bytes of these chunks.
    public func bytes(of indices: some Sequence<Int>) -> UInt64 { indices.reduce(0) { $0 + UInt64(sizes[$1]) } }

    /// Chunks of the given paths, each once.
    public func chunks(ofPaths paths: some Sequence<Int>) -> Set<Int> {
        var result: Set<Int> = []
        for p in paths { result.formUnion(pathChunks[p]) }
        return result
    }
}
