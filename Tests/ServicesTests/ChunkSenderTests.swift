// The seed's and peers' chunk sending over a real loopback socket: chunks go to the socket
// directly (a large one-file chunk by sendfile, small ones copied together into one write, others
// as one copied write) while nothing is queued, and the part a full socket did not take goes
// through a write buffer. Whatever the split, the reader gets whole frames in order.
import Glibc
import Runtime
import Store
import Swarm
import TestSupport
import Testing

@testable import Services

@Suite struct ChunkSenderTests {
    /// Only a large chunk that is one file's bytes goes by sendfile; framing and file pieces
    /// together, or anything small, go as one copied write.
    @Test func whatGoesAsOneCopy() {
        let big = ChunkSender.copiedChunkLimit + 1
        #expect(!ChunkSender.sendsAsOneCopy(OutgoingChunk(pieces: [.file(path: "/f", offset: 0, count: big)])))
        #expect(ChunkSender.sendsAsOneCopy(OutgoingChunk(pieces: [.file(path: "/f", offset: 0, count: big - 1)])))
        #expect(
            ChunkSender.sendsAsOneCopy(
                OutgoingChunk(pieces: [.bytes([1, 2]), .file(path: "/f", offset: 0, count: big), .bytes([3])])))
        #expect(ChunkSender.sendsAsOneCopy(OutgoingChunk(bytes: [UInt8](repeating: 0, count: big))))
    }

    @Test func chunksFromFilesAndMemoryArriveWholeThroughAFullSocket() throws {
        let dir = TemporaryDirectory()
        let path = dir.sub("blob")
        // 6 MiB: more than a loopback socket takes at once, so sends are cut short.
        let file = (0..<(6 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 12) }
        try FileIO.writeNew(path, file, mode: 0o644, durable: false)
        let framing = Array("framing bytes".utf8)
        let memory = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let outgoing = [
            OutgoingChunk(pieces: [.bytes(framing[...]), .file(path: path, offset: 0, count: 3 << 20)]),
            OutgoingChunk(pieces: [.file(path: path, offset: 3 << 20, count: 3 << 20)]),
            OutgoingChunk(bytes: memory),
            OutgoingChunk(pieces: [.file(path: path, offset: 17, count: 100_000)]),
        ]
        let expected: [[UInt8]] = [
            framing + file[..<(3 << 20)], Array(file[(3 << 20)...]), memory,
            Array(file[17..<100_017]),
        ]
        let ids = expected.map { ChunkID(of: $0) }
        var table: [ChunkID: OutgoingChunk] = [:]
        for (id, chunk) in zip(ids, outgoing) { table[id] = chunk }
        let missing = ChunkID(of: Array("not here".utf8))
        let (got, failure, bytesSent) = try Self.send([ids[0], missing, ids[1], ids[2], ids[3]], from: table)

        #expect(failure == nil)
        let want: [Message] = [
            .chunk(ids[0], expected[0][...]), .missing(missing), .chunk(ids[1], expected[1][...]),
            .chunk(ids[2], expected[2][...]), .chunk(ids[3], expected[3][...]),
        ]
        #expect(got == want)
        #expect(bytesSent == UInt64(expected.reduce(0) { $0 + $1.count }))
    }

    /// Small chunks are copied into one batch and written together (flushed when it is full or
    /// before a chunk that goes on its own); a chunk whose file cannot be read becomes MISSING in
    /// its place. The reader still gets every frame in order, through a full socket.
    @Test func smallChunksGatheredLeaveInOrderAmongTheRest() throws {
        let dir = TemporaryDirectory()
        let path = dir.sub("blob")
        let file = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 10) }
        try FileIO.writeNew(path, file, mode: 0o644, durable: false)
        var outgoing: [OutgoingChunk] = []
        var expected: [[UInt8]] = []
        func add(_ chunk: OutgoingChunk, _ bytes: [UInt8]) {
            outgoing.append(chunk)
            expected.append(bytes)
        }
        // 300 small chunks (1.2 MiB: several batches), a large one by sendfile among them, and
        // small ones from memory and with framing.
        for i in 0..<300 {
            let offset = i * 4096 + 5
            if i == 100 {
                add(OutgoingChunk(pieces: [.file(path: path, offset: 0, count: 3 << 20)]), Array(file[..<(3 << 20)]))
            }
            if i % 50 == 7 {
                add(OutgoingChunk(bytes: Array(file[offset..<(offset + 999)])), Array(file[offset..<(offset + 999)]))
            }
            let framing: [UInt8] = [UInt8(i & 0xff), 1, 2]
            add(
                OutgoingChunk(pieces: [.bytes(framing[...]), .file(path: path, offset: UInt64(offset), count: 4000)]),
                framing + file[offset..<(offset + 4000)])
        }
        var ids = expected.map { ChunkID(of: $0) }
        var table: [ChunkID: OutgoingChunk] = [:]
        for (id, chunk) in zip(ids, outgoing) { table[id] = chunk }
        let unreadable = ChunkID(of: Array("its file is gone".utf8))
        table[unreadable] = OutgoingChunk(pieces: [.file(path: dir.sub("gone"), offset: 0, count: 100)])
        let missing = ChunkID(of: Array("not here".utf8))
        ids.insert(unreadable, at: 50)
        ids.insert(missing, at: 250)

        let (got, failure, bytesSent) = try Self.send(ids, from: table)

        #expect(failure == nil)
        var want: [Message] = []
        var next = 0
        for id in ids {
            if id == unreadable || id == missing {
                want.append(.missing(id))
            } else {
                want.append(.chunk(id, expected[next][...]))
                next += 1
            }
        }
        #expect(got.count == want.count)
        #expect(got == want)
        #expect(bytesSent == UInt64(expected.reduce(0) { $0 + $1.count }))
    }

    /// Serves `ids` from `table` over a loopback socket whose reader starts late (so the sender
    /// finds it full); returns the messages read, any failure, and the chunk bytes sent.
    static func send(_ ids: [ChunkID], from table: [ChunkID: OutgoingChunk]) throws -> (
        [Message], String?, UInt64
    ) {
        let loop = try EventLoop()
        let listener = try TCPListener(loop: loop)
        var sender: ChunkSender?
        let bound = try listener.listen(on: SocketAddress(host: "127.0.0.1", port: 0)) { connection in
            sender = ChunkSender(connection: connection, gate: UploadGate(loop: loop, bytesPerSecond: 0)) { table[$0] }
            sender!.enqueue(ids)
        }
        let client = try TCPConnection(loop: loop)
        var decoder = FrameDecoder()
        var got: [Message] = []
        var failure: String?
        let deadline = try Timer(loop: loop)
        let reading = try Timer(loop: loop)
        func finish() {
            deadline.close()
            reading.close()
            client.close()
            sender?.connection.close()
            listener.close()
        }
        deadline.start(after: 20_000) {
            failure = "timed out with \(got.count) messages"
            finish()
        }
        try client.connect(to: bound) { error in
            if let error { failure = "\(error)"; return finish() }
            // The reader waits first, so the sender finds the socket full.
            reading.start(after: 200) {
                try? client.startReading(
                    onData: { bytes in
                        decoder.append(bytes)
                        do {
                            while let m = try decoder.next() { got.append(m) }
                        } catch {
                            failure = "\(error)"
                        }
                        if got.count == ids.count || failure != nil { finish() }
                    },
                    onEnd: { _ in finish() })
            }
        }
        loop.run()
        return (got, failure, sender?.bytesSent ?? 0)
    }
}
