import NixFormats
import Sodium
import Swarm
import Testing

@Suite struct FrameCodecTests {
    @Test func allMessagesSurviveAnySplit() throws {
        let messages = try Fixtures.messages().map(\.1)
        let stream = messages.flatMap { FrameCodec.encode($0) }
        for step in [1, 2, 5, 64, stream.count] {
            var decoder = FrameDecoder()
            var got: [Message] = []
            var offset = 0
            while offset < stream.count {
                decoder.append(stream[offset..<min(offset + step, stream.count)])
                offset += step
                while let m = try decoder.next() { got.append(m) }
            }
            #expect(got == messages, "step \(step)")
            #expect(decoder.bufferedBytes == 0)
        }
    }

    @Test func oversizeFrameIsRefusedFromTheHeader() throws {
        var decoder = FrameDecoder()
        // A PING claiming a 1 GiB payload: refused before any of it is buffered.
        decoder.append([0, 0, 0, 0x40, MessageType.ping.rawValue])
        #expect(throws: WireError.tooLarge(what: "ping frame", size: 1 << 30, limit: 64 * 1024)) { try decoder.next() }
    }

    /// A BITFIELD has a bit for every chunk a manifest can list (one 32-byte id per 32 bytes of
    /// its body, at most 64 MiB): as a 64 KiB control message it carried 524 000 chunks, so the
    /// seed closed the link of every client of a closure over 64 GiB (32 GiB at 64 KiB chunks).
    @Test func aBitfieldCoversTheLargestManifest() throws {
        let most = ManifestLimits.maxBodyBytes / 32
        let id = try #require(Digest256(bytes: [UInt8](repeating: 7, count: 32)))
        var bits = Bitfield(count: most)
        bits.insert(most - 1)
        var decoder = FrameDecoder()
        decoder.append(FrameCodec.encode(.bitfield(manifest: id, bits)))
        #expect(try decoder.next() == .bitfield(manifest: id, bits))
        let over = FrameCodec.encode(.bitfield(manifest: id, Bitfield(count: most + 8)))
        decoder.append(over)
        #expect(throws: WireError.tooLarge(what: "bitfield frame", size: UInt64(over.count - 4), limit: over.count - 5))
        {
            try decoder.next()
        }
    }

    @Test func manifestFramesOnlyWhereAskedFor() throws {
        var limits = FrameLimits()
        limits.maxManifestBytes = 0
        var decoder = FrameDecoder(limits: limits)
        decoder.append(FrameCodec.encode(.manifest([1, 2, 3])))
        #expect(throws: WireError.self) { try decoder.next() }
    }

    @Test(arguments: [
        ("unknown type", [1, 0, 0, 0, 0x7f] as [UInt8], WireError.unknownMessageType(0x7f)),
        ("an HTTP server's answer", Array("HTTP/1.1 400 Bad Request\r\n".utf8), WireError.httpAnswer),
        ("type 47 after another length", [1, 0, 0, 0, 0x2f], WireError.unknownMessageType(0x2f)),
        ("zero length", [0, 0, 0, 0, 0x08], WireError.tooLarge(what: "ping frame", size: 0, limit: 64 * 1024)),
        ("ping too short", [5, 0, 0, 0, 0x08, 1, 2, 3, 4], WireError.truncated),
        (
            "ping too long", [10, 0, 0, 0, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            WireError.malformed("1 bytes after a ping payload")
        ),
        ("empty request", [3, 0, 0, 0, 0x04, 0, 0], WireError.malformed("REQUEST of 0 chunks (1…256)")),
        (
            "bad hello magic", [26, 0, 0, 0, 0x01] + Array("XXXX".utf8) + [UInt8](repeating: 0, count: 21),
            WireError.badMagic
        ),
        ("unknown error code", [7, 0, 0, 0, 0x07, 99, 0, 0, 0, 0, 0], WireError.malformed("unknown error code")),
        ("empty chunk", [33, 0, 0, 0, 0x05] + [UInt8](repeating: 0, count: 32), WireError.malformed("empty chunk")),
        (
            "bitfield with spare bits set",
            [38, 0, 0, 0, 0x0A] + [UInt8](repeating: 0, count: 32) + [3, 0, 0, 0, 0xFF],
            WireError.malformed("BITFIELD of 3 bits has the wrong length or spare bits set")
        ),
        (
            "bitfield too long", [39, 0, 0, 0, 0x0A] + [UInt8](repeating: 0, count: 32) + [3, 0, 0, 0, 0, 0],
            WireError.malformed("BITFIELD of 3 bits has the wrong length or spare bits set")
        ),
        ("empty have", [3, 0, 0, 0, 0x0B, 0, 0], WireError.malformed("have of 0 indices")),
    ])
    func malformedFramesAreRefused(name: String, bytes: [UInt8], error: WireError) {
        var decoder = FrameDecoder()
        decoder.append(bytes)
        #expect(throws: error, "\(name)") { try decoder.next() }
    }

    @Test func requestOfTooManyChunksIsRefused() {
        let ids = (0..<257).map { ChunkID(of: [UInt8(truncatingIfNeeded: $0), 1]) }
        var decoder = FrameDecoder()
        decoder.append(FrameCodec.encode(.request(ids)))
        #expect(throws: WireError.self) { try decoder.next() }
    }

    @Test func chunkDataIsTheFramesBytes() throws {
        let data = [UInt8](repeating: 0x5a, count: 300_000)
        let id = ChunkID(of: data)
        var decoder = FrameDecoder()
        decoder.append(FrameCodec.encode(.chunk(id, data[...])))
        guard case .chunk(let gotID, let gotData) = try decoder.next() else {
            Issue.record("expected a chunk")
            return
        }
        #expect(gotID == id && ChunkID(of: gotData) == id && gotData.count == data.count)
    }

    /// Large chunks are gathered in arrays of their own, small frames in the shared buffer: the
    /// messages and their order are the same for any split, whether each piece is drained at
    /// once or several pieces are appended first.
    @Test func largeChunksKeepTheirPlaceAmongOtherFrames() throws {
        func chunk(_ n: Int, _ seed: UInt8) -> Message {
            let data = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
            return .chunk(ChunkID(of: data), data[...])
        }
        let messages: [Message] = [
            .ping(1), chunk(40_000, 1), chunk(20_000, 2), .have([3]), chunk(100, 3), chunk(16_384, 4),
            chunk(70_000, 5), .pong(2),
        ]
        let stream = messages.flatMap { FrameCodec.encode($0) }
        for step in [1, 7, 37, 1000, 16_421, 60_000, stream.count] {
            for drainEvery in [1, 3] {
                var decoder = FrameDecoder()
                var got: [Message] = []
                var offset = 0
                var pieces = 0
                while offset < stream.count {
                    decoder.append(stream[offset..<min(offset + step, stream.count)])
                    offset += step
                    pieces += 1
                    if pieces % drainEvery == 0 || offset >= stream.count {
                        while let m = try decoder.next() { got.append(m) }
                    } else {
                        #expect(
                            decoder.bufferedBytes == min(offset, stream.count)
                                - got.reduce(0) { $0 + FrameCodec.encode($1).count })
                    }
                }
                #expect(got == messages, "step \(step), drained every \(drainEvery)")
                #expect(decoder.bufferedBytes == 0)
            }
        }
    }

    /// A chunk frame over the limit is refused from its header, gathered or not.
    @Test func oversizeChunkIsNotGathered() {
        var limits = FrameLimits()
        limits.maxChunkBytes = 32 * 1024
        var decoder = FrameDecoder(limits: limits)
        let data = [UInt8](repeating: 1, count: 40_000)
        decoder.append(FrameCodec.encode(.chunk(ChunkID(of: data), data[...])).prefix(50_000))
        #expect(throws: WireError.tooLarge(what: "chunk frame", size: 40_033, limit: 32 * 1024 + 33)) {
            try decoder.next()
        }
    }

    /// A sender writes the header and then the data: together they are the encoded frame.
    @Test func chunkHeaderThenDataIsTheEncodedFrame() {
        let data = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let id = ChunkID(of: data)
        #expect(FrameCodec.chunkHeader(id, dataCount: data.count) + data == FrameCodec.encode(.chunk(id, data[...])))
    }
}
