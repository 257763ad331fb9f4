import Foundation
import NixFormats
import Sodium
import Store
import Swarm
import TestSupport
import Testing

/// One store path (the reference tree "mixed-dir", 3 MiB) cut into 64 KiB chunks, and a target
/// root to fetch it into through a ChunkCache.
private struct CacheFixture {
    let tmp = TemporaryDirectory()
    let nar: [UInt8]
    let manifest: Manifest
    let root: StoreRoot
    var path: ManifestPath { manifest.paths[0] }
    var destination: String { root.realPath(path.storePath) }
    var cacheFile: String { root.root + "/nix/var/rookery/chunks/" + path.storePath.baseName + ".nar" }
    var staging: String { root.root + "/nix/store/.rookery-staging/0/" + path.storePath.baseName }

    init() throws {
        let tree = try #require(TreeBuilder.referenceTrees.first { $0.0 == "mixed-dir" }?.1)
        try FileManager.default.createDirectory(atPath: tmp.sub("src"), withIntermediateDirectories: false)
        try TreeBuilder.build(tree, at: tmp.sub("src"))
        let nar = try narOf(tmp.sub("src/root"))
        self.nar = nar
        let layout = try ChunkLayout(chunkSize: 64 * 1024)
        let ids = chunkIDs(of: nar, layout: layout)
        let storePath = try StorePath("/nix/store/" + String(repeating: "a", count: 32) + "-tree")
        let p = ManifestPath(
            storePath: storePath, narHash: SHA256.hash(nar), narSize: UInt64(nar.count), references: [], chunks: ids)
        manifest = Manifest(layout: layout, createdAt: 0, label: "t", toplevels: [storePath], paths: [p])
        root = StoreRoot(root: tmp.sub("root"))
    }

    func chunk(_ i: Int) -> ArraySlice<UInt8> {
        let r = manifest.layout.range(of: i, narSize: UInt64(nar.count))
        return nar[Int(r.lowerBound)..<Int(r.upperBound)]
    }

    func cache() throws -> ChunkCache {
        let cache = ChunkCache(root: root, checksNarHash: true)
        try cache.create()
        cache.plan(manifest, paths: [0])
        return cache
    }
}

@Suite struct ChunkCacheTests {
    /// Whatever order the chunks come in, every chunk written can be read back (for peers) until
    /// the path is restored, and the restored tree dumps to the NAR. In order, nothing waits in
    /// a cache file: each byte is written once, into the staging tree.
    @Test(arguments: ["in order", "reversed", "shuffled"])
    func chunksInAnyOrderRestoreThePath(order: String) throws {
        let f = try CacheFixture()
        let cache = try f.cache()
        let count = f.path.chunks.count
        #expect(count > 40)
        var sequence = Array(0..<count)
        if order == "reversed" { sequence.reverse() }
        if order == "shuffled" {
            var rng = SplitMix64(seed: 7)
            sequence.shuffle(using: &rng)
        }
        var written: [Int] = []
        var hadCacheFile = false
        for i in sequence {
            try cache.write(f.path.chunks[i], f.chunk(i))
            written.append(i)
            if cache.isRestored(f.path.storePath) { break }
            hadCacheFile = hadCacheFile || FileManager.default.fileExists(atPath: f.cacheFile)
            for j in written.suffix(3) {
                #expect(cache.read(f.path.chunks[j])?[...] == f.chunk(j), "\(order): chunk \(j) after \(written.count)")
            }
        }
        #expect(written.count == count)
        #expect(cache.isRestored(f.path.storePath))
        #expect(try narOf(f.destination) == f.nar)
        // Renamed out of the staging folder with Nix's metadata intact.
        var st = stat()
        #expect(lstat(f.destination, &st) == 0 && st.st_mtim.tv_sec == 1 && st.st_mode & 0o7777 == 0o555)
        #expect(!FileManager.default.fileExists(atPath: f.staging))
        // Chunks that came early waited in the cache file, which went with the restore.
        #expect(hadCacheFile == (order != "in order"))
        #expect(!FileManager.default.fileExists(atPath: f.cacheFile))
        // A restored path's chunks are the store's to serve, not the cache's.
        #expect(cache.read(f.path.chunks[0]) == nil)
    }

    /// A fetch that stops half way (the cache goes without a restore) leaves its staging tree;
    /// the next one finds exactly the chunks that reached it, less one it finds damaged.
    @Test func aHalfWrittenStagingTreeIsSalvaged() throws {
        let f = try CacheFixture()
        let half = f.path.chunks.count / 2
        do {
            let first = try f.cache()
            for i in 0..<half { try first.write(f.path.chunks[i], f.chunk(i)) }
        }
        #expect(FileManager.default.fileExists(atPath: f.staging))
        #expect(!FileManager.default.fileExists(atPath: f.destination))
        // Damage chunk 3's bytes inside the staging tree's large file.
        let segments = try NarIndex.build(realPath: f.tmp.sub("src/root")).segments
        let large = try #require(
            segments.first { $0.source == .file(relativePath: "large", length: 3 * 1024 * 1024 + 7) })
        let at = UInt64(3 * 64 * 1024 + 10) - large.start
        let handle = try #require(FileHandle(forUpdatingAtPath: f.staging + "/large"))
        try handle.seek(toOffset: at)
        handle.write(Data([0xEE]))
        try handle.close()
        let second = try f.cache()
        let present = try second.verifiedPresent()
        #expect(present == Set(f.path.chunks[0..<half]).subtracting([f.path.chunks[3]]))
        #expect(!FileManager.default.fileExists(atPath: f.staging))
        for i in 0..<f.path.chunks.count where !present.contains(f.path.chunks[i]) {
            try second.write(f.path.chunks[i], f.chunk(i))
        }
        #expect(second.isRestored(f.path.storePath))
        #expect(try narOf(f.destination) == f.nar)
    }

    /// Chunks that came early wait in the cache file; once they are fed into the staging tree
    /// their blocks in the file go, so the path never takes twice its size on the disk (a swarm
    /// sends chunks in any order: a demo client's root peaked at 1.6 x its final size). They are
    /// read for peers from the staging tree meanwhile.
    @Test func chunksFedFromTheCacheFileLeaveIt() throws {
        let f = try CacheFixture()
        let cache = try f.cache()
        let last = f.path.chunks.count - 1
        for i in (1..<last).reversed() { try cache.write(f.path.chunks[i], f.chunk(i)) }
        var st = stat()
        #expect(stat(f.cacheFile, &st) == 0 && st.st_blocks * 512 >= Int(f.nar.count) / 2)
        try cache.write(f.path.chunks[0], f.chunk(0))
        #expect(!cache.isRestored(f.path.storePath))
        // Every chunk but the last is in the staging tree now, and none takes room in the file.
        #expect(stat(f.cacheFile, &st) == 0 && st.st_blocks == 0, "\(st.st_blocks) blocks left")
        for i in [0, 1, last / 2, last - 1] {
            #expect(cache.read(f.path.chunks[i])?[...] == f.chunk(i), "chunk \(i)")
        }
        try cache.write(f.path.chunks[last], f.chunk(last))
        #expect(cache.isRestored(f.path.storePath))
        let intact = try narOf(f.destination) == f.nar
        #expect(intact)
    }

    /// What a finished fetch does last: the cache and the staging folders go whole, and with
    /// them what a crashed fetch of another closure left (a cache file, a half-written read-only
    /// tree in a lane this fetch did not have), which nothing else would ever remove.
    @Test func removeAllEmptiesTheCacheAndTheStagingFolders() throws {
        let f = try CacheFixture()
        let cache = try f.cache()
        for i in f.path.chunks.indices.reversed() { try cache.write(f.path.chunks[i], f.chunk(i)) }
        #expect(cache.isRestored(f.path.storePath))
        let chunks = f.root.rookeryDirectory + "/chunks"
        let staging = f.root.storeDirectory + "/.rookery-staging"
        let other = String(repeating: "b", count: 32) + "-other"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: chunks + "/" + other + ".nar"))
        let stale = staging + "/5/" + other
        try FileManager.default.createDirectory(atPath: stale + "/lib", withIntermediateDirectories: true)
        try Data([4]).write(to: URL(fileURLWithPath: stale + "/lib/a"))
        #expect(chmod(stale + "/lib", 0o555) == 0 && chmod(stale, 0o555) == 0)
        ChunkCache.removeAll(root: f.root)
        #expect(!FileManager.default.fileExists(atPath: chunks))
        #expect(!FileManager.default.fileExists(atPath: staging))
        let intact = try narOf(f.destination) == f.nar
        #expect(intact)
    }

    /// A chunk the path shares with a path already on disk is never fetched: the restore takes
    /// it from elsewhere, and fails with one clear error when it is nowhere.
    @Test func restoreTakesWhatItLacksFromElsewhere() throws {
        let f = try CacheFixture()
        let lacking = 5
        do {
            let cache = try f.cache()
            for i in 0..<f.path.chunks.count where i != lacking { try cache.write(f.path.chunks[i], f.chunk(i)) }
            #expect(!cache.isRestored(f.path.storePath))
            #expect(throws: StoreError.chunkMissing(path: "\(f.path.storePath)", chunk: "\(f.path.chunks[lacking])")) {
                try cache.restore(f.path.storePath) { _ in nil }
            }
        }
        let again = try f.cache()
        _ = try again.verifiedPresent()
        try again.restore(f.path.storePath) { $0 == f.path.chunks[lacking] ? Array(f.chunk(lacking)) : nil }
        #expect(again.isRestored(f.path.storePath))
        #expect(try narOf(f.destination) == f.nar)
    }

    /// A chunk that repeats (a run of zeros, in one path and in its copy) which a crash left
    /// intact in one place only counts as here: the places that lack it get a copy, both paths
    /// restore without fetching it again.
    @Test func aRepeatedChunkIntactInOnePlaceIsCopiedToTheOthers() throws {
        let tmp = TemporaryDirectory()
        #expect(FileManager.default.createFile(atPath: tmp.sub("zeros"), contents: Data(count: 4 * 65536 + 100)))
        let nar = try narOf(tmp.sub("zeros"))
        let layout = try ChunkLayout(chunkSize: 64 * 1024)
        let ids = chunkIDs(of: nar, layout: layout)
        let zero = ChunkID(of: [UInt8](repeating: 0, count: 65536))
        #expect(ids.filter { $0 == zero }.count == 3, "chunks 1–3 are all zeros")
        let paths = try ["a", "b"].map { name in
            ManifestPath(
                storePath: try StorePath("/nix/store/" + String(repeating: name, count: 32) + "-zeros"),
                narHash: SHA256.hash(nar), narSize: UInt64(nar.count), references: [], chunks: ids)
        }
        let manifest = Manifest(layout: layout, createdAt: 0, label: "t", toplevels: [], paths: paths)
        let root = StoreRoot(root: tmp.sub("root"))
        // What a crash left: the whole NAR in path a's cache file, nothing of path b.
        try FileManager.default.createDirectory(
            atPath: root.root + "/nix/var/rookery/chunks", withIntermediateDirectories: true)
        #expect(
            FileManager.default.createFile(
                atPath: root.root + "/nix/var/rookery/chunks/" + paths[0].storePath.baseName + ".nar",
                contents: Data(nar)))
        let cache = ChunkCache(root: root, checksNarHash: true)
        try cache.create()
        cache.plan(manifest, paths: [0, 1])
        #expect(try cache.verifiedPresent() == Set(ids))
        for p in paths {
            try cache.restore(p.storePath) { _ in nil }
            #expect(try narOf(root.realPath(p.storePath)) == nar)
        }
    }
}
