// The seed's and peers' chunk sending over a real loopback socket: chunks go to the socket
// directly (a large one-file chunk by sendfile, others as one copied write) while nothing is
// queued, and the part a full socket did not take goes through a write buffer. Whatever the split, the reader gets whole frames in order.
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

        let loop = try EventLoop()
        let listener = try TCPListener(loop: loop)
        var sender: ChunkSender?
        let bound = try listener.listen(on: SocketAddress(host: "127.0.0.1", port: 0)) { connection in
            sender = ChunkSender(connection: connection, gate: UploadGate(loop: loop, bytesPerSecond: 0)) { table[$0] }
            sender!.enqueue([ids[0], missing, ids[1], ids[2], ids[3]])
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
                        if got.count == 5 || failure != nil { finish() }
                    },
                    onEnd: { _ in finish() })
            }
        }
        loop.run()

        #expect(failure == nil)
        let want: [Message] = [
            .chunk(ids[0], expected[0][...]), .missing(missing), .chunk(ids[1], expected[1][...]),
            .chunk(ids[2], expected[2][...]), .chunk(ids[3], expected[3][...]),
        ]
        #expect(got == want)
        #expect(sender?.bytesSent == UInt64(expected.reduce(0) { $0 + $1.count }))
    }
}
