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
    /// A one-file store path (200 KiB) in 64 KiB chunks, planned into a cache under a fresh root.
    struct Fixture {
        let tmp = TemporaryDirectory()
        let nar: [UInt8]
        let layout: ChunkLayout
        let path: ManifestPath
        let root: StoreRoot
        let cache: ChunkCache

        init() throws {
            let file = tmp.sub("blob")
            try FileIO.writeNew(file, TreeBuilder.bytes(200 << 10, seed: 3), mode: 0o444, durable: false)
            var sink = MemorySink()
            try NarDumper().dump(path: file, to: &sink)
            let nar = sink.bytes
            let layout = try ChunkLayout(chunkSize: 64 * 1024)
            let ids = (0..<layout.chunkCount(narSize: UInt64(nar.count))).map { i in
                ChunkID(of: nar[Self.range(i, layout, nar.count)])
            }
            self.nar = nar
            self.layout = layout
            let storePath = try StorePath("/nix/store/" + String(repeating: "b", count: 32) + "-blob")
            path = ManifestPath(
                storePath: storePath, narHash: SHA256.hash(nar), narSize: UInt64(nar.count), references: [],
                chunks: ids)
            let manifest = Manifest(layout: layout, createdAt: 0, label: "t", toplevels: [storePath], paths: [path])
            root = StoreRoot(root: tmp.sub("root"))
            try root.createStoreDirectory()
            cache = ChunkCache(root: root)
            try cache.create()
            cache.plan(manifest, paths: [0])
        }

        static func range(_ i: Int, _ layout: ChunkLayout, _ count: Int) -> Range<Int> {
            let r = layout.range(of: i, narSize: UInt64(count))
            return Int(r.lowerBound)..<Int(r.upperBound)
        }

        func chunk(_ i: Int) -> ArraySlice<UInt8> { nar[Self.range(i, layout, nar.count)] }

        func queue(_ loop: EventLoop, failed: @escaping (String) -> Void) -> DiskQueue {
            DiskQueue(loop: loop, cache: cache, store: ChunkServer(store: root), inline: false, failed: failed)
        }
    }

    @Test func jobsRunInOrderAndChunksAreReadableMeanwhile() throws {
        let f = try Fixture()
        let loop = try EventLoop()
        var failures: [String] = []
        let queue = f.queue(loop) { failures.append($0) }
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
        let queue = f.queue(loop) { Issue.record("unexpected failure: \($0)") }
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
        var failures: [String] = []
        let queue = f.queue(loop) { failures.append($0) }
        var drained = false
        queue.add(.store(f.path.chunks[0], f.chunk(0)))
        // Chunks 1… were never stored: the restore cannot finish.
        queue.add(.restore(f.path.storePath))
        queue.add(.store(f.path.chunks[1], f.chunk(1)))
        queue.whenDrained { drained = true }
        loop.run()
        #expect(failures.count == 1)
        #expect(failures.first?.contains("is not on this machine") == true)
        #expect(!drained)
        var st = stat()
        #expect(lstat(f.root.realPath(f.path.storePath), &st) != 0)
        queue.add(.store(f.path.chunks[2], f.chunk(2)))
        #expect(queue.bytes == 0)
    }
}
