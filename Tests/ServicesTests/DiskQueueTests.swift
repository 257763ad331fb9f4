// The agent's disk work on libuv's pool: jobs in order, chunks readable from memory until their
// job is done, the registration's moment (drained) after the last, and the first error ends it.
import Glibc
import NixFormats
import Runtime
import Sodium
import Store
import Swarm
import TestSupport
import Testing

@testable import Services

@Suite struct DiskQueueTests {
    /// One-file store paths (200 KiB each, contents by seed: equal seeds, equal chunks) in 64 KiB
    /// chunks, to be fetched into a fresh root.
    struct Fixture {
        let tmp = TemporaryDirectory()
        let nars: [[UInt8]]
        let layout: ChunkLayout
        let paths: [ManifestPath]
        let root: StoreRoot
        let manifest: Manifest
        var nar: [UInt8] { nars[0] }
        var path: ManifestPath { paths[0] }

        init(seeds: [UInt64] = [3]) throws {
            let layout = try ChunkLayout(chunkSize: 64 * 1024)
            var nars: [[UInt8]] = []
            var paths: [ManifestPath] = []
            for (n, seed) in seeds.enumerated() {
                let file = tmp.sub("blob\(n)")
                try FileIO.writeNew(file, TreeBuilder.bytes(200 << 10, seed: seed), mode: 0o444, durable: false)
                var sink = MemorySink()
                try NarDumper().dump(path: file, to: &sink)
                let nar = sink.bytes
                let ids = chunkIDs(of: nar, layout: layout)
                let storePath = try StorePath("/nix/store/" + String(repeating: "b", count: 32) + "-blob\(n)")
                nars.append(nar)
                paths.append(
                    ManifestPath(
                        storePath: storePath, narHash: SHA256.hash(nar), narSize: UInt64(nar.count), references: [],
                        chunks: ids))
            }
            self.nars = nars
            self.paths = paths
            self.layout = layout
            manifest = Manifest(
                layout: layout, createdAt: 0, label: "t", toplevels: paths.map(\.storePath), paths: paths)
            root = StoreRoot(root: tmp.sub("root"))
            try root.createStoreDirectory()
        }

        static func range(_ i: Int, _ layout: ChunkLayout, _ count: Int) -> Range<Int> {
            let r = layout.range(of: i, narSize: UInt64(count))
            return Int(r.lowerBound)..<Int(r.upperBound)
        }

        func chunk(_ i: Int, of p: Int = 0) -> ArraySlice<UInt8> { nars[p][Self.range(i, layout, nars[p].count)] }

        /// A queue with `lanes` lanes, planned for `planned` (every path); what was on disk.
        func plannedQueue(
            _ loop: EventLoop, lanes: Int = 1, planned: [Int]? = nil, failed: @escaping (StoreError) -> Void
        ) throws -> (DiskQueue, Set<ChunkID>) {
            let queue = DiskQueue(
                loop: loop, caches: (0..<lanes).map { ChunkCache(root: root, lane: $0) },
                store: ChunkServer(store: root),
                inline: false, failed: failed)
            let present = try queue.plan(manifest, paths: planned ?? Array(paths.indices), storeNames: [])
            return (queue, present)
        }

        func queue(_ loop: EventLoop, failed: @escaping (StoreError) -> Void) throws -> DiskQueue {
            let (queue, present) = try plannedQueue(loop, failed: failed)
            #expect(present.isEmpty)
            return queue
        }

        func dump(_ p: Int) throws -> [UInt8] {
            var sink = MemorySink()
            try NarDumper().dump(path: root.realPath(paths[p].storePath), to: &sink)
            return sink.bytes
        }
    }

    /// Paths dealt out to two lanes restore side by side; a chunk two paths in different lanes
    /// share arrives once and reaches both.
    @Test func lanesRestoreTheirPathsAndShareChunks() throws {
        let f = try Fixture(seeds: [3, 3, 4])
        #expect(f.paths[0].chunks == f.paths[1].chunks && f.paths[0].chunks != f.paths[2].chunks)
        let loop = try EventLoop()
        var failures: [StoreError] = []
        let (queue, present) = try f.plannedQueue(loop, lanes: 2) { failures.append($0) }
        #expect(present.isEmpty)
        var drained = false
        for p in [0, 2] {
            for i in f.paths[p].chunks.indices { queue.add(.store(f.paths[p].chunks[i], f.chunk(i, of: p))) }
        }
        // Paths 0 and 2 in lane 0, path 1 in lane 1: the shared chunks wait in both.
        #expect(queue.bytes == f.nars[0].count * 2 + f.nars[2].count)
        for p in f.paths.indices { queue.add(.restore(f.paths[p].storePath)) }
        queue.whenDrained { drained = true }
        loop.run()
        #expect(failures.isEmpty && drained && queue.bytes == 0)
        for p in f.paths.indices { #expect(try f.dump(p) == f.nars[p], "path \(p)") }
    }

    /// After a crash, a chunk intact in one lane counts as held: the other lanes that want it
    /// (a chunk two paths share) get a copy, so it is not fetched again, and every path restores
    /// with only the chunks that were missing stored.
    @Test func aChunkHeldInOneLaneIsCopiedToTheOthers() throws {
        let f = try Fixture(seeds: [3, 3, 4])
        let loop = try EventLoop()
        do {
            // One lane with paths 0 and 2 only: chunk 1 of each waits in its cache file.
            let (first, _) = try f.plannedQueue(loop, planned: [0, 2]) { Issue.record("unexpected: \($0)") }
            first.add(.store(f.paths[0].chunks[1], f.chunk(1, of: 0)))
            first.add(.store(f.paths[2].chunks[1], f.chunk(1, of: 2)))
            loop.run()
        }
        // Two lanes: path 1 (lane 1) shares path 0's chunks and had none of them.
        var failures: [StoreError] = []
        let (queue, present) = try f.plannedQueue(loop, lanes: 2) { failures.append($0) }
        #expect(present == [f.paths[0].chunks[1], f.paths[2].chunks[1]])
        for p in [0, 2] {
            for i in f.paths[p].chunks.indices where i != 1 {
                queue.add(.store(f.paths[p].chunks[i], f.chunk(i, of: p)))
            }
        }
        for p in f.paths.indices { queue.add(.restore(f.paths[p].storePath)) }
        loop.run()
        #expect(failures.isEmpty, "\(failures)")
        for p in f.paths.indices { #expect(try f.dump(p) == f.nars[p], "path \(p)") }
    }

    @Test func jobsRunInOrderAndChunksAreReadableMeanwhile() throws {
        let f = try Fixture()
        let loop = try EventLoop()
        var failures: [StoreError] = []
        let queue = try f.queue(loop) { failures.append($0) }
        var drained = false
        // Chunks 1… before 0: they wait in the cache file until 0 comes, then the restore.
        for i in [2, 1, 3, 0] { queue.add(.store(f.path.chunks[i], f.chunk(i))) }
        queue.add(.restore(f.path.storePath))
        queue.whenDrained { drained = true }
        #expect(queue.bytes == f.nar.count)
        #expect(queue.unwrittenChunk(f.path.chunks[3])?[...] == f.chunk(3))
        #expect(!drained)
        loop.run()
        #expect(failures.isEmpty)
        #expect(drained)
        #expect(queue.bytes == 0 && queue.unwrittenChunk(f.path.chunks[3]) == nil)
        var sink = MemorySink()
        try NarDumper().dump(path: f.root.realPath(f.path.storePath), to: &sink)
        #expect(sink.bytes == f.nar)
    }

    /// Past `maxBytes` waiting the queue is full (the engine then holds verdicts back); the batch
    /// that brings it below says so once.
    @Test func aFullQueueSaysWhenItHasRoomAgain() throws {
        let f = try Fixture()
        let loop = try EventLoop()
        let queue = try f.queue(loop) { Issue.record("unexpected failure: \($0)") }
        var rooms = 0
        queue.madeRoom = { rooms += 1 }
        let chunk = f.chunk(0)
        var added = 0
        while !queue.isFull && added < 1000 {
            queue.add(.store(f.path.chunks[0], chunk))
            added += 1
        }
        #expect(queue.isFull && added == DiskQueue.maxBytes / chunk.count)
        loop.run()
        #expect(!queue.isFull && queue.bytes == 0)
        #expect(rooms == 1)
    }

    @Test func theFirstErrorEndsTheQueue() throws {
        let f = try Fixture()
        let loop = try EventLoop()
        var failures: [StoreError] = []
        let queue = try f.queue(loop) { failures.append($0) }
        var drained = false
        queue.add(.store(f.path.chunks[0], f.chunk(0)))
        // Chunks 1… were never stored: the restore cannot finish.
        queue.add(.restore(f.path.storePath))
        queue.add(.store(f.path.chunks[1], f.chunk(1)))
        queue.whenDrained { drained = true }
        loop.run()
        #expect(failures.count == 1)
        #expect(failures.first.map { "\($0)".contains("is not on this machine") } == true)
        #expect(!drained)
        var st = stat()
        #expect(lstat(f.root.realPath(f.path.storePath), &st) != 0)
        queue.add(.store(f.path.chunks[2], f.chunk(2)))
        #expect(queue.bytes == 0)
    }
}
