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

    @Test func manifestFramesOnlyWhereAskedFor() throws {
        var limits = FrameLimits()
        limits.maxManifestBytes = 0
        var decoder = FrameDecoder(limits: limits)
        decoder.append(FrameCodec.encode(.manifest([1, 2, 3])))
        #expect(throws: WireError.self) { try decoder.next() }
    }

    @Test(arguments: [
        ("unknown type", [1, 0, 0, 0, 0x7f] as [UInt8], WireError.unknownMessageType(0x7f)),
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

    /// A sender writes the header and then the data: together they are the encoded frame.
    @Test func chunkHeaderThenDataIsTheEncodedFrame() {
        let data = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let id = ChunkID(of: data)
        #expect(FrameCodec.chunkHeader(id, dataCount: data.count) + data == FrameCodec.encode(.chunk(id, data[...])))
    }
}
