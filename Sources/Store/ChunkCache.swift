// Verified chunks on the client's disk until their store path is restored, so a crashed fetch
// resumes without fetching them again. A chunk that comes in NAR order (the next one its path
// needs) goes straight into the path's staging tree, written once; only a chunk that comes early
// waits in the path's cache file, `<base name>.nar`, at its offset in the path's NAR, until the
// chunks before it have come. One file per path, not per chunk: creating and deleting a file per
// chunk spent a quarter of a fetch in ext4's inode allocator. Not fsync'd: after a power cut a
// slot may hold garbage, so a resumed fetch hashes every slot again (`verifiedPresent`), and the
// prefix that reached a staging tree too (a half-written tree dumps to its NAR's exact prefix,
// see NarRestorer). Holes read as zeros and fail the check unless the chunk really is zeros.
// Lives at <root>/nix/var/rookery/chunks (the target root's disk, not the initrd's RAM). Staging
// trees grow in a folder of each cache's own, <store>/.rookery-staging/<lane>, and are renamed
// into the store when complete: a path's mkdir and staging name then touch a small folder no
// other lane writes to, and the store directory, whose lock every lane shares, sees one entry
// added per path instead of three changes (1000 small paths fetched 5 % faster).
import CSystemShims
import Glibc
import NixFormats
import Sodium
import Swarm

public final class ChunkCache {
    /// One wanted store path on its way. Its cache file's name and its chunks' ranges are made
    /// when first needed, on a disk thread: planning 1000 paths on the loop thread, before the
    /// first request, took 0.7 ms less.
    private final class Assembly {
        let path: StorePath
        let chunks: [ChunkID]
        let expected: (hash: NixHash, size: UInt64)
        private let layout: ChunkLayout
        private let directory: String
        lazy var file = directory + "/" + path.baseName + ".nar"
        lazy var ranges = chunks.indices.map { layout.range(of: $0, narSize: expected.size) }
        /// Chunks (by position) whose bytes are in the cache file.
        var inFile: Set<Int> = []
        /// The leading chunks fed into `importer` so far.
        var fed = 0
        /// The cache file may exist (written to, or found at start).
        var hasFile = false
        var importer: NarImport?
        var restored = false
        /// Neither the path nor its staging tree was in the store when it was listed (or the
        /// staging tree was salvaged and removed since).
        var listedAbsent = false

        init(_ path: ManifestPath, layout: ChunkLayout, directory: String) {
            self.path = path.storePath
            chunks = path.chunks
            expected = (NixHash(sha256: path.narHash), path.narSize)
            self.layout = layout
            self.directory = directory
        }

        func holds(_ position: Int) -> Bool { position < fed || inFile.contains(position) }
    }

    public let directory: String
    let root: StoreRoot
    let checksNarHash: Bool
    /// The root's store directory and this cache's staging folder, made and opened once for all
    /// paths (not checked and opened again for each of 1000 paths).
    private var storeDirectory: OpenDirectory?
    private var staging: OpenDirectory?
    /// This cache's staging folder (under `stagingFolders`, on the store's file system).
    public let stagingDirectory: String
    /// Where the staging folders of all lanes are, in the store directory.
    public static let stagingFolders = ".rookery-staging"
    /// Paths restoring at once: each holds a file and a directory or two open.
    let maxImports: Int
    private var assemblies: [Assembly] = []
    private var assemblyOf: [StorePath: Int] = [:]
    /// Where each chunk of the planned paths goes: (assembly, position in its path).
    private var places: [ChunkID: [(assembly: Int, position: Int)]] = [:]
    private var importing = 0

    /// Paths restoring at once unless told otherwise (shared out among a fetch's caches).
    public static let defaultMaxImports = 64

    /// `lane`: names this cache's staging folder (caches used side by side need their own).
    public init(root: StoreRoot, checksNarHash: Bool = false, maxImports: Int = defaultMaxImports, lane: Int = 0) {
        self.root = root
        self.checksNarHash = checksNarHash
        self.maxImports = maxImports
        stagingDirectory = root.storeDirectory + "/" + Self.stagingFolders + "/\(lane)"
        directory = root.rookeryDirectory + "/chunks"
    }

    deinit {
        // A fetch that ends unfinished leaves its staging trees: the next run salvages them.
        for a in assemblies { a.importer?.keepForResume() }
    }

    public func create() throws(StoreError) { try FileIO.createDirectories(directory) }

    /// The paths `indices` of `manifest` will be fetched through this cache.
    public func plan(_ manifest: Manifest, paths indices: [Int]) {
        assemblyOf.reserveCapacity(assemblyOf.count + indices.count)
        places.reserveCapacity(places.count + indices.reduce(0) { $0 + manifest.paths[$1].chunks.count })
        for p in indices where assemblyOf[manifest.paths[p].storePath] == nil {
            let a = Assembly(manifest.paths[p], layout: manifest.layout, directory: directory)
            assemblyOf[a.path] = assemblies.count
            for (i, id) in a.chunks.enumerated() { places[id, default: []].append((assemblies.count, i)) }
            assemblies.append(a)
        }
    }

    /// The planned chunks already here (in cache files, or in a staging tree a crash left),
    /// hashed again: those whose bytes match their id in at least one place they go. A chunk that
    /// repeats may have reached only some of its places before the crash: the others get a copy
    /// now, so it is not fetched again. `storeNames`: the store directory's listing, when the
    /// caller has it already.
    public func verifiedPresent(storeNames: Set<String>? = nil) throws(StoreError) -> Set<ChunkID> {
        // What a crash left, from one listing of each directory (a fresh fetch has none).
        let inStore: Set<String>
        if let storeNames { inStore = storeNames } else { inStore = try FileIO.names(in: root.storeDirectory) }
        if inStore.contains(Self.stagingFolders) {
            // In any lane's folder: the crashed run may have had more lanes or fewer.
            let folders = root.storeDirectory + "/" + Self.stagingFolders
            var trees: [String: [String]] = [:]
            for lane in try FileIO.names(in: folders) {
                for name in try FileIO.names(in: folders + "/" + lane) {
                    trees[name, default: []].append(folders + "/" + lane + "/" + name)
                }
            }
            for a in assemblies { for tree in trees[a.path.baseName] ?? [] { try salvage(a, tree) } }
        }
        for a in assemblies { a.listedAbsent = !inStore.contains(a.path.baseName) }
        let files = try FileIO.names(in: directory)
        let withFile = Set(assemblies.indices.filter { files.contains(assemblies[$0].path.baseName + ".nar") })
        for i in withFile { assemblies[i].hasFile = true }
        var good: Set<ChunkID> = []
        for (id, where_) in places {
            var intact: [UInt8]?
            for place in where_ where withFile.contains(place.assembly) {
                let a = assemblies[place.assembly]
                let range = a.ranges[place.position]
                guard let bytes = try? FileIO.read(a.file, at: range.lowerBound, count: range.count),
                    ChunkID(of: bytes) == id
                else { continue }
                a.inFile.insert(place.position)
                intact = bytes
                break
            }
            guard let intact else { continue }
            try adopt(id, intact)
            good.insert(id)
        }
        return good
    }

    /// A verified chunk found on disk at start (here or in another lane's cache): into the cache
    /// file of every planned place that does not hold it yet. Rewrites nothing already held.
    public func adopt(_ id: ChunkID, _ data: [UInt8]) throws(StoreError) {
        for place in places[id] ?? [] {
            let a = assemblies[place.assembly]
            guard !a.restored, !a.holds(place.position) else { continue }
            try writeToFile(a, a.ranges[place.position].lowerBound, data[...])
            a.inFile.insert(place.position)
        }
    }

    /// A staging tree left by a crash: its verified chunks move into the path's cache file (the
    /// restore starts over from there), and the tree goes.
    private func salvage(_ a: Assembly, _ staging: String) throws(StoreError) {
        if let index = try? NarIndex.build(realPath: staging) {
            for (i, range) in a.ranges.enumerated() where range.upperBound <= index.narSize {
                guard let bytes = try? index.bytes(range), ChunkID(of: bytes) == a.chunks[i] else { continue }
                try writeToFile(a, range.lowerBound, bytes[...])
            }
        }
        try FileIO.removeTree(staging)
    }

    /// Stores a chunk that was verified against its id, in every planned path that holds it:
    /// into the staging tree where it is the next one its path needs, else into the cache file.
    public func write(_ id: ChunkID, _ data: ArraySlice<UInt8>) throws(StoreError) {
        for place in places[id] ?? [] {
            let a = assemblies[place.assembly]
            guard !a.restored, !a.holds(place.position) else { continue }
            // A path's last chunk in order completes it at once, so it takes no import slot.
            let completes = place.position == a.chunks.count - 1
            if place.position == a.fed, a.importer != nil || importing < maxImports || completes {
                try feed(a, data)
            } else {
                try writeToFile(a, a.ranges[place.position].lowerBound, data)
                a.inFile.insert(place.position)
            }
            // What waits in the file right after (a resumed fetch: from the start) follows.
            if a.importer != nil || (a.inFile.contains(a.fed) && importing < maxImports) { try advance(a) }
        }
    }

    /// A held chunk's bytes (to serve peers), or nil; chunks of restored paths are the store's.
    public func read(_ id: ChunkID) -> [UInt8]? {
        for place in places[id] ?? [] {
            let a = assemblies[place.assembly]
            guard !a.restored else { continue }
            if place.position < a.fed, let bytes = try? a.importer?.bytes(a.ranges[place.position]) {
                return bytes
            }
            if a.inFile.contains(place.position) {
                return try? FileIO.read(
                    a.file, at: a.ranges[place.position].lowerBound, count: a.ranges[place.position].count)
            }
        }
        return nil
    }

    /// Whether `path` is on disk under its final name.
    public func isRestored(_ path: StorePath) -> Bool { assemblyOf[path].map { assemblies[$0].restored } ?? false }

    /// Finishes `path` once all its chunks are held: those not in this cache (shared with a path
    /// already on disk, never fetched) come from `elsewhere`. Then renames it into place.
    public func restore(_ path: StorePath, elsewhere: (ChunkID) -> [UInt8]?) throws(StoreError) {
        guard let n = assemblyOf[path] else { return }
        let a = assemblies[n]
        while !a.restored {
            try advance(a)
            if a.restored { break }
            guard let bytes = elsewhere(a.chunks[a.fed]) else {
                throw .chunkMissing(path: "\(path)", chunk: "\(a.chunks[a.fed])")
            }
            try feed(a, bytes[...])
        }
    }

    /// Moves a partial tree at `path`'s final name (see `StoreRoot.looksWhole`) into the staging
    /// folders, as a crashed fetch's tree: the plan keeps the chunks in it that match their ids,
    /// the path is fetched as a missing one, and a finished fetch removes what is left.
    public static func setAside(_ path: StorePath, root: StoreRoot) throws(StoreError) {
        let folder = root.storeDirectory + "/" + stagingFolders + "/found"
        try FileIO.createDirectories(folder, mode: 0o700)
        let target = folder + "/" + path.baseName
        try FileIO.removeTree(target)
        if rename(root.realPath(path), target) != 0 { throw .lastSystem("rename", root.realPath(path)) }
    }

    /// Empties `root`'s chunk cache and staging folders, whatever is in them. For a fetch that
    /// finished (every path it planned is in the store) and holds the root's lock (no other fetch
    /// uses them): what a crashed fetch of another closure left goes too, which nothing else would
    /// ever remove (Nix's garbage collector passes over names that are not store paths).
    public static func removeAll(root: StoreRoot) {
        try? FileIO.removeTree(root.rookeryDirectory + "/chunks")
        try? FileIO.removeTree(root.storeDirectory + "/" + stagingFolders)
    }

    private func feed(_ a: Assembly, _ data: ArraySlice<UInt8>) throws(StoreError) {
        if a.importer == nil {
            if storeDirectory == nil {
                try root.createStoreDirectory()
                try FileIO.createDirectories(stagingDirectory, mode: 0o700)
                storeDirectory = try OpenDirectory(root.storeDirectory)
                staging = try OpenDirectory(stagingDirectory)
            }
            a.importer = try NarImport(
                into: storeDirectory!, name: a.path.baseName, stagingIn: staging, checksNarHash: checksNarHash,
                listedAbsent: a.listedAbsent)
            importing += 1
        }
        do {
            try a.importer!.feed(data)
        } catch {
            a.importer = nil
            importing -= 1
            throw error
        }
        a.fed += 1
    }

    /// Feeds the chunks that wait in the cache file right after what was fed; commits the path
    /// when it is complete.
    private func advance(_ a: Assembly) throws(StoreError) {
        if a.fed < a.chunks.count && a.inFile.contains(a.fed) {
            let fd = open(a.file, O_RDWR | O_CLOEXEC)
            if fd < 0 { throw .lastSystem("open", a.file) }
            defer { close(fd) }
            while a.fed < a.chunks.count && a.inFile.contains(a.fed) {
                let position = a.fed
                let range = a.ranges[position]
                try feed(a, try FileIO.read(fd: fd, at: range.lowerBound, count: Int(range.count), name: a.file)[...])
                // Its bytes are in the staging tree now, so the file's copy goes: a path whose
                // chunks came out of order took twice its size on the disk while it was restored
                // (where the file system cannot punch holes, the copy stays until the restore).
                a.inFile.remove(position)
                _ = rookery_punch_hole(fd, Int64(range.lowerBound), Int64(range.count))
            }
        }
        guard a.fed == a.chunks.count, let importer = a.importer else { return }
        a.importer = nil
        importing -= 1
        try importer.commit(expected: a.expected)
        a.restored = true
        // The store serves its chunks now. Kept to the end of the fetch, the cache files of
        // restored paths held up to a second copy of the closure on the disk (chunks from peers
        // come in any order, and each early one waits in its path's file).
        if a.hasFile {
            _ = unlink(a.file)
            a.inFile = []
            a.hasFile = false
        }
    }

    private func writeToFile(_ a: Assembly, _ offset: UInt64, _ data: ArraySlice<UInt8>) throws(StoreError) {
        let fd = open(a.file, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw .lastSystem("open", a.file) }
        a.hasFile = true
        defer { close(fd) }
        let written = data.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == data.count else { throw .lastSystem("pwrite", a.file) }
    }
}
