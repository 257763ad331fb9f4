// Verified chunks on the client's disk until their store path is restored: written aside and
// renamed, named by their id, so a crashed fetch resumes without fetching them again.
// Lives at <root>/nix/var/rookery/chunks (the target root's disk, not the initrd's RAM).
import Glibc
import NixFormats
import Sodium
import Swarm

public struct ChunkCache: Sendable {
    public let directory: String

    public init(root: StoreRoot) {
        directory = (root.root == "/" ? "" : root.root) + "/nix/var/rookery/chunks"
    }

    func path(_ id: ChunkID) -> String { directory + "/" + id.digest.hex }

    public func create() throws(StoreError) { try FileIO.createDirectories(directory) }

    /// Ids of the chunks already here (names that are not ids are ignored).
    public func present() throws(StoreError) -> Set<ChunkID> {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return [] }
            throw .lastSystem("open", directory)
        }
        defer { close(fd) }
        var ids: Set<ChunkID> = []
        for name in try directoryEntries(fd: fd, path: directory) where name.count == 64 {
            if let bytes = Hex.decode(String(decoding: name, as: UTF8.self)), let d = Digest256(bytes: bytes) {
                ids.insert(ChunkID(d))
            }
        }
        return ids
    }

    /// Stores a chunk that was verified against its id. Not fsync'd (one fsync per chunk was
    /// most of a fetch's time): after a power cut a file may hold garbage, so a resumed fetch
    /// checks cached chunks again (`verifiedPresent`).
    public func write(_ id: ChunkID, _ data: ArraySlice<UInt8>) throws(StoreError) {
        try FileIO.writeAtomically(path(id), Array(data), mode: 0o600, durable: false)
    }

    /// The cached chunks among `wanted` whose bytes still hash to their id; others are removed.
    public func verifiedPresent(among wanted: Set<ChunkID>) throws(StoreError) -> Set<ChunkID> {
        var good: Set<ChunkID> = []
        for id in try present() where wanted.contains(id) {
            if let bytes = try? read(id), ChunkID(of: bytes) == id {
                good.insert(id)
            } else {
                remove(id)
            }
        }
        return good
    }

    public func read(_ id: ChunkID) throws(StoreError) -> [UInt8] {
        try FileIO.read(path(id), limit: Int(ChunkLayout.maximumChunkSize))
    }

    public func remove(_ id: ChunkID) {
        _ = unlink(path(id))
    }
}

extension StoreRoot {
    /// Restores path `index` of `manifest` from cached chunks (each verified against its signed
    /// id when it arrived). Its size must match the manifest, and with `checksNarHash` its
    /// SHA-256 too, or nothing appears under the store.
    public func restore(_ index: Int, of manifest: Manifest, from cache: ChunkCache, checksNarHash: Bool)
        throws(StoreError)
    {
        let path = manifest.paths[index]
        let importer = try importPath(path.storePath, checksNarHash: checksNarHash)
        for id in path.chunks {
            try importer.feed(try cache.read(id)[...])
        }
        try importer.commit(expected: (NixHash(sha256: path.narHash), path.narSize))
    }
}
