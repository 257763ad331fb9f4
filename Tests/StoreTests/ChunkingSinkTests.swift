import Publishing
import Sodium
import Store
import TestSupport
import Testing

@Suite struct ChunkingSinkTests {
    /// Whatever the write sizes, with or without the side thread: one BLAKE2b-256 per chunk of
    /// the stream (the last one short), the SHA-256 and length of the whole.
    @Test(arguments: [false, true])
    func digestsAreThoseOfEachChunk(withSide: Bool) throws {
        var rng = SystemRandomNumberGenerator()
        let chunkSize = 4096
        let length = chunkSize * 21 + 123
        let stream = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let side = withSide ? SideThread() : nil
        defer { side?.stop() }
        var sink = ChunkingSink(chunkSize: chunkSize, side: side)
        var offset = 0
        while offset < length {
            // Writes from 1 byte up to past the split threshold and across several chunks.
            let n = min(length - offset, Int.random(in: 1...(40 * 1024), using: &rng))
            try stream[offset..<(offset + n)].withUnsafeBytes { try sink.write($0) }
            offset += n
        }
        let (narHash, narSize, chunks) = sink.finish()
        #expect(narSize == UInt64(length))
        #expect(narHash == SHA256.hash(stream))
        let expected = stride(from: 0, to: length, by: chunkSize).map {
            Blake2b256.hash(stream[$0..<min($0 + chunkSize, length)])
        }
        #expect(chunks.count == 22)
        #expect(chunks == expected)
    }

    /// A dumped tree whose files the sink reads straight from disk (those of at least the
    /// dumper's buffer size) hashes as its NAR does when collected in memory.
    @Test func filesReadStraightIntoTheSinkHashAsTheirNar() throws {
        let tmp = TemporaryDirectory("rookery-chunking")
        let tree = TreeBuilder.referenceTrees.first { $0.0 == "mixed-dir" }!.1
        try TreeBuilder.build(tree, at: tmp.path)
        let dumper = NarDumper(bufferSize: 64 * 1024)
        var memory = MemorySink()
        try dumper.dump(path: tmp.sub("root"), to: &memory)
        let side = SideThread()
        defer { side.stop() }
        var sink = ChunkingSink(chunkSize: 64 * 1024, side: side)
        try dumper.dump(path: tmp.sub("root"), to: &sink)
        let (narHash, narSize, chunks) = sink.finish()
        let nar = memory.bytes
        #expect(nar.count > 3 * 1024 * 1024)
        #expect(narSize == UInt64(nar.count) && narHash == SHA256.hash(nar))
        #expect(
            chunks
                == stride(from: 0, to: nar.count, by: 64 * 1024).map {
                    Blake2b256.hash(nar[$0..<min($0 + 64 * 1024, nar.count)])
                })
    }

    @Test func emptyStreamHasNoChunks() {
        var sink = ChunkingSink(chunkSize: 4096)
        let (narHash, narSize, chunks) = sink.finish()
        #expect(narSize == 0 && chunks.isEmpty && narHash == SHA256.hash([UInt8]()))
    }
}
