// Verified chunks on the client's disk until their store path is restored, so a crashed fetch
// resumes without fetching them again. A chunk that is the whole NAR of every path it belongs to
// (a small path) stays in memory instead: its path is restored at once, and a restored path is
// safe on disk already. One file per wanted store path, `<base name>.nar`, each
// chunk written at its offset in the path's NAR: one inode per path, not per chunk (creating and
// deleting a file per chunk spent a quarter of a fetch in ext4's inode allocator). Restoring a
// path reads its file front to back. Not fsync'd: after a power cut a slot may hold garbage, so
// a resumed fetch hashes every slot again (`verifiedPresent`); holes read as zeros and fail the
// check unless the chunk really is zeros. Lives at <root>/nix/var/rookery/chunks (the target
// root's disk, not the initrd's RAM).
import Glibc
import NixFormats
import Sodium
import Swarm

public final class ChunkCache {
    public let directory: String
    /// Where each chunk of the planned paths goes: every path file that holds it, at its offset.
    private var slots: [ChunkID: [(file: String, offset: UInt64, size: Int)]] = [:]
    /// The chunks each path file holds a slot for.
    private var chunksOfFile: [String: [ChunkID]] = [:]
    /// Chunks written (or found valid) whose bytes can be read back for peers.
    private var held: Set<ChunkID> = []
    /// Whole-path chunks kept in memory until their paths are restored.
    private var inMemory: [ChunkID: [UInt8]] = [:]
    /// Chunks that are the whole NAR of every planned path holding them.
    private var wholePath: Set<ChunkID> = []

    public init(root: StoreRoot) {
        directory = (root.root == "/" ? "" : root.root) + "/nix/var/rookery/chunks"
    }

    public func create() throws(StoreError) { try FileIO.createDirectories(directory) }

    func file(_ path: StorePath) -> String { directory + "/" + path.baseName + ".nar" }

    /// The paths `indices` of `manifest` will be fetched through this cache.
    public func plan(_ manifest: Manifest, paths indices: [Int]) {
        for p in indices {
            let path = manifest.paths[p]
            let name = file(path.storePath)
            for (i, id) in path.chunks.enumerated() {
                let range = manifest.layout.range(of: i, narSize: path.narSize)
                slots[id, default: []].append((name, range.lowerBound, Int(range.count)))
                chunksOfFile[name, default: []].append(id)
                if path.chunks.count == 1 && slots[id]!.count == 1 {
                    wholePath.insert(id)
                } else {
                    wholePath.remove(id)
                }
            }
        }
    }

    /// The planned chunks already here whose bytes hash to their id wherever they go.
    public func verifiedPresent() throws(StoreError) -> Set<ChunkID> {
        var good: Set<ChunkID> = []
        for (id, places) in slots {
            let valid = places.allSatisfy { place in
                guard let bytes = try? Self.read(place.file, at: place.offset, count: place.size) else { return false }
                return ChunkID(of: bytes) == id
            }
            if valid { good.insert(id) }
        }
        held.formUnion(good)
        return good
    }

    /// Stores a chunk that was verified against its id, in every planned path that holds it.
    public func write(_ id: ChunkID, _ data: ArraySlice<UInt8>) throws(StoreError) {
        if wholePath.contains(id) {
            inMemory[id] = Array(data)
            held.insert(id)
            return
        }
        for place in slots[id] ?? [] {
            let fd = open(place.file, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            if fd < 0 { throw .lastSystem("open", place.file) }
            defer { close(fd) }
            let written = data.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(place.offset)) }
            guard written == data.count else { throw .lastSystem("pwrite", place.file) }
        }
        held.insert(id)
    }

    /// A held chunk's bytes (to serve peers), or nil.
    public func read(_ id: ChunkID) -> [UInt8]? {
        guard held.contains(id), let place = slots[id]?.first else { return nil }
        if let bytes = inMemory[id] { return bytes }
        return try? Self.read(place.file, at: place.offset, count: place.size)
    }

    /// Whether the chunk is in the cache (in every planned path that holds it).
    public func holds(_ id: ChunkID) -> Bool { held.contains(id) }

    /// Bytes `range` of `path`'s NAR from its cache file (chunks the cache holds).
    public func read(_ path: StorePath, _ range: Range<UInt64>) throws(StoreError) -> [UInt8] {
        let name = file(path)
        if range.lowerBound == 0, let id = chunksOfFile[name]?.first, let bytes = inMemory[id],
            bytes.count == range.count
        {
            return bytes
        }
        return try Self.read(name, at: range.lowerBound, count: Int(range.count))
    }

    /// The path is restored: chunks kept in memory for it alone are let go.
    public func restored(_ path: StorePath) {
        for id in chunksOfFile[file(path)] ?? [] where inMemory.removeValue(forKey: id) != nil { held.remove(id) }
    }

    /// Drops a path's file once the path is restored (its chunks are served from the store then).
    public func remove(_ path: StorePath) {
        let name = file(path)
        _ = unlink(name)
        for id in chunksOfFile.removeValue(forKey: name) ?? [] where slots[id] != nil {
            slots[id]!.removeAll { $0.file == name }
            if slots[id]!.isEmpty {
                slots[id] = nil
                held.remove(id)
                inMemory[id] = nil
            }
        }
    }

    static func read(_ file: String, at offset: UInt64, count: Int) throws(StoreError) -> [UInt8] {
        try FileIO.read(file, at: offset, count: count)
    }
}
