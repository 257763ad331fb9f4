// Frames on the wire: `u32 length ‖ u8 type ‖ payload`, length counting type and payload
// (protocol/SPEC.md §5). The decoder is sans-IO: feed bytes, take messages, nil = need more.
import NixFormats
import Sodium

public struct FrameLimits: Sendable {
    /// Largest chunk payload; also bounds the CHUNK frame.
    public var maxChunkBytes = Int(ChunkLayout.maximumChunkSize)
    /// Largest MANIFEST frame this side accepts; 0 on sides that never ask for one.
    public var maxManifestBytes = ManifestLimits.maxBodyBytes + 64 * 1024
    /// Every other message.
    public var maxControlBytes = 64 * 1024
    /// A BITFIELD's bits: one per chunk the largest manifest can list (a 32-byte id each). As a
    /// control message it held 524 000 chunks: a closure over 64 GiB (32 GiB at 64 KiB chunks)
    /// could be published but not fetched, its clients' BITFIELD closing their seed links.
    public static let maxBitfieldBytes = (ManifestLimits.maxBodyBytes / 32 + 7) / 8
    /// Chunk ids in one REQUEST, and indices in one HAVE or OFFER.
    public var maxRequestCount = 256
    /// Entries in one PEERS answer.
    public var maxPeers = 200
    /// Node ids in one REPORT.
    public static let maxReported = 16
    /// Entries in one MANIFEST_PEERS.
    public static let maxManifestPeers = 16

    public init() {}

    func maxLength(of type: MessageType) -> Int {
        switch type {
        case .chunk: maxChunkBytes + 1 + 32
        case .manifest: maxManifestBytes + 1
        case .request: 1 + 2 + maxRequestCount * 32
        case .bitfield: 1 + 32 + 4 + Self.maxBitfieldBytes
        default: maxControlBytes
        }
    }
}

public enum FrameCodec {
    public static let headerLength = 5
    /// A CHUNK frame's bytes before its data: the header and the chunk's id.
    public static let chunkHeaderLength = headerLength + 32

    /// The first bytes of a CHUNK frame whose data (`dataCount` bytes) follow: what a sender
    /// writes before reading the data straight into the same write buffer.
    public static func chunkHeader(_ id: ChunkID, dataCount: Int) -> [UInt8] {
        var w = WireWriter()
        w.u32(UInt32(1 + 32 + dataCount))
        w.u8(MessageType.chunk.rawValue)
        w.raw(id.digest.bytes)
        return w.bytes
    }

    /// The bytes of one frame.
    public static func encode(_ message: Message) -> [UInt8] {
        // One buffer: header first with the length patched in at the end, so a chunk's data is
        // copied once, not into a payload and again into the frame.
        var w = WireWriter()
        if case .chunk(_, let data) = message { w.bytes.reserveCapacity(chunkHeaderLength + data.count) }
        w.u32(0)
        w.u8(message.type.rawValue)
        switch message {
        case .hello(let h):
            w.raw(Hello.magic)
            w.u16(h.version)
            w.u8(h.role.rawValue)
            w.raw(h.nodeID)
            w.u16(h.listenPort)
        case .getManifest(let selector, let peersWelcome):
            let welcome: UInt8 = peersWelcome ? 0x80 : 0
            switch selector {
            case .toplevel(let path):
                w.u8(0 | welcome)
                w.string(path.baseName)
            case .id(let id):
                w.u8(1 | welcome)
                w.raw(id.bytes)
            }
        case .manifest(let bytes):
            w.raw(bytes)
        case .request(let ids):
            w.u16(UInt16(ids.count))
            for id in ids { w.raw(id.digest.bytes) }
        case .chunk(let id, let data):
            w.raw(id.digest.bytes)
            w.raw(data)
        case .missing(let id):
            w.raw(id.digest.bytes)
        case .error(let code, let text):
            w.u16(code.rawValue)
            w.string(text)
        case .ping(let n), .pong(let n):
            w.u64(n)
        case .bitfield(let manifest, let bits):
            w.raw(manifest.bytes)
            w.u32(UInt32(bits.count))
            w.raw(bits.bytes)
        case .have(let indices), .offer(let indices):
            w.u16(UInt16(indices.count))
            for i in indices { w.u32(i) }
        case .getPeers(let max):
            w.u16(max)
        case .peers(let entries):
            w.peerEntries(entries)
        case .manifestPeers(let id, let entries):
            w.raw(id.bytes)
            w.peerEntries(entries)
        case .requestAny(let count, let bytes):
            w.u16(count)
            w.u32(bytes)
        case .report(let ids):
            w.u16(UInt16(ids.count))
            for id in ids { w.raw(id) }
        }
        let length = UInt32(w.bytes.count - 4).littleEndian
        withUnsafeBytes(of: length) { w.bytes.replaceSubrange(0..<4, with: $0) }
        return w.bytes
    }

    /// Decodes one payload of `type`.
    static func decode(type: MessageType, payload: ArraySlice<UInt8>, limits: FrameLimits) throws(WireError) -> Message
    {
        var r = WireReader(payload)
        let message: Message
        switch type {
        case .hello:
            guard Array(try r.take(4)) == Hello.magic else { throw .badMagic }
            let version = try r.u16()
            guard let role = NodeRole(rawValue: try r.u8()) else { throw .malformed("unknown role") }
            let nodeID = Array(try r.take(16))
            message = .hello(Hello(version: version, role: role, nodeID: nodeID, listenPort: try r.u16()))
        case .getManifest:
            let kind = try r.u8()
            let peersWelcome = kind & 0x80 != 0
            switch kind & 0x7F {
            case 0:
                let name = try r.string(limit: 255)
                do { message = .getManifest(.toplevel(try StorePath(name)), peersWelcome: peersWelcome) } catch {
                    throw .malformed("\(error)")
                }
            case 1: message = .getManifest(.id(try r.digest()), peersWelcome: peersWelcome)
            default: throw .malformed("unknown manifest selector")
            }
        case .manifest:
            message = .manifest(Array(try r.take(r.remaining)))
        case .request:
            let count = Int(try r.u16())
            guard count >= 1, count <= limits.maxRequestCount else {
                throw .malformed("REQUEST of \(count) chunks (1…\(limits.maxRequestCount))")
            }
            var ids: [ChunkID] = []
            ids.reserveCapacity(count)
            for _ in 0..<count { ids.append(ChunkID(try r.digest())) }
            message = .request(ids)
        case .chunk:
            let id = ChunkID(try r.digest())
            let data = try r.take(r.remaining)
            guard !data.isEmpty else { throw .malformed("empty chunk") }
            message = .chunk(id, data)
        case .missing:
            message = .missing(ChunkID(try r.digest()))
        case .error:
            guard let code = ErrorCode(rawValue: try r.u16()) else { throw .malformed("unknown error code") }
            message = .error(code, try r.string(limit: limits.maxControlBytes))
        case .ping:
            message = .ping(try r.u64())
        case .pong:
            message = .pong(try r.u64())
        case .bitfield:
            let manifest = try r.digest()
            let count = Int(try r.u32())
            guard let bits = Bitfield(count: count, bytes: Array(try r.take(r.remaining))) else {
                throw .malformed("BITFIELD of \(count) bits has the wrong length or spare bits set")
            }
            message = .bitfield(manifest: manifest, bits)
        case .have, .offer:
            let count = Int(try r.u16())
            guard count <= limits.maxRequestCount, count >= (type == .have ? 1 : 0) else {
                throw .malformed("\(type) of \(count) indices")
            }
            var indices: [UInt32] = []
            indices.reserveCapacity(count)
            for _ in 0..<count { indices.append(try r.u32()) }
            message = type == .have ? .have(indices) : .offer(indices)
        case .getPeers:
            message = .getPeers(try r.u16())
        case .peers:
            message = .peers(try r.peerEntries(max: limits.maxPeers, in: type))
        case .manifestPeers:
            let id = try r.digest()
            let entries = try r.peerEntries(max: FrameLimits.maxManifestPeers, in: type)
            guard !entries.isEmpty else { throw .malformed("MANIFEST_PEERS of no peers") }
            message = .manifestPeers(id, entries)
        case .requestAny:
            let count = try r.u16()
            let bytes = try r.u32()
            guard count >= 1 else { throw .malformed("REQUEST_ANY of 0 chunks") }
            message = .requestAny(count: count, bytes: bytes)
        case .report:
            let count = Int(try r.u16())
            guard (1...FrameLimits.maxReported).contains(count) else {
                throw .malformed("REPORT of \(count) node ids (1…\(FrameLimits.maxReported))")
            }
            var ids: [[UInt8]] = []
            for _ in 0..<count { ids.append(Array(try r.take(16))) }
            message = .report(ids)
        }
        guard r.isAtEnd else { throw .malformed("\(r.remaining) bytes after a \(type) payload") }
        return message
    }
}

extension WireWriter {
    /// PEERS entries: `u16 count ‖ (u8 family ‖ IP ‖ u16 port ‖ node id ‖ u8 flags) × count`.
    mutating func peerEntries(_ entries: [PeerEntry]) {
        u16(UInt16(entries.count))
        for e in entries {
            u8(e.address.ip.count == 4 ? 4 : 6)
            raw(e.address.ip)
            u16(e.address.port)
            raw(e.nodeID)
            u8(e.complete ? 1 : 0)
        }
    }
}

extension WireReader {
    mutating func peerEntries(max: Int, in type: MessageType) throws(WireError) -> [PeerEntry] {
        let count = Int(try u16())
        guard count <= max else { throw .malformed("\(type) of \(count) entries") }
        var entries: [PeerEntry] = []
        for _ in 0..<count {
            let family = try u8()
            guard family == 4 || family == 6 else { throw .malformed("address family \(family)") }
            let ip = Array(try take(family == 4 ? 4 : 16))
            let port = try u16()
            let nodeID = Array(try take(16))
            let flags = try u8()
            guard flags <= 1, let address = PeerAddress(ip: ip, port: port) else {
                throw .malformed("bad \(type) entry")
            }
            entries.append(PeerEntry(address: address, nodeID: nodeID, complete: flags == 1))
        }
        return entries
    }
}

/// Reassembles frames from a byte stream. Holds what `append` gave until `next` takes it: one
/// incomplete frame at most (bounded by `FrameLimits`) behind the complete ones.
public struct FrameDecoder: Sendable {
    public var limits: FrameLimits
    private var buffer: [UInt8] = []
    private var consumed = 0
    /// Large CHUNK frames are gathered in arrays of their own: their data is copied once, from
    /// the bytes handed to `append` into the array the hashing thread gets, instead of into the
    /// shared buffer, out again, and moved by compaction (13 % of the agent's loop thread under
    /// perf at 600 MiB/s). Order on the wire: `gathered` (complete), then `gathering`, then
    /// `buffer`; a gathering starts only while the buffer holds nothing.
    private var gathered: [(id: ChunkID, data: [UInt8])] = []
    private var gathering: (id: ChunkID, data: [UInt8], count: Int)?
    /// Chunk data from this size on is gathered.
    static let gatherFrom = 16 * 1024

    public init(limits: FrameLimits = FrameLimits()) {
        self.limits = limits
    }

    /// Bytes held, waiting for the rest of a frame or to be taken by `next`.
    public var bufferedBytes: Int {
        buffer.count - consumed + gathered.reduce(0) { $0 + FrameCodec.chunkHeaderLength + $1.data.count }
            + (gathering.map { FrameCodec.chunkHeaderLength + $0.data.count } ?? 0)
    }

    public mutating func append<C: Collection<UInt8>>(_ bytes: C) {
        if bytes.withContiguousStorageIfAvailable({ append(UnsafeRawBufferPointer($0)) }) == nil {
            Array(bytes).withUnsafeBytes { append($0) }
        }
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        while !rest.isEmpty {
            if gathering != nil {
                let take = min(gathering!.count - gathering!.data.count, rest.count)
                gathering!.data.append(contentsOf: rest[..<take])
                rest = UnsafeRawBufferPointer(rebasing: rest[take...])
                if gathering!.data.count == gathering!.count {
                    gathered.append((gathering!.id, gathering!.data))
                    gathering = nil
                }
            } else if consumed == buffer.count, let (id, count) = largeChunkFrame(rest) {
                gathering = (id, [], count)
                gathering!.data.reserveCapacity(count)
                rest = UnsafeRawBufferPointer(rebasing: rest[FrameCodec.chunkHeaderLength...])
            } else {
                if consumed > 0 && consumed == buffer.count {
                    buffer.removeAll(keepingCapacity: true)
                    consumed = 0
                }
                buffer.append(contentsOf: rest)
                return
            }
        }
    }

    /// The next complete message, nil when more bytes are needed. A chunk's data is a slice of
    /// the internal buffer, valid until the next call.
    public mutating func next() throws(WireError) -> Message? {
        if !gathered.isEmpty {
            let g = gathered.removeFirst()
            return .chunk(g.id, g.data[...])
        }
        if gathering != nil { return nil }
        if consumed > 0 && consumed * 2 > buffer.count {
            buffer.removeFirst(consumed)
            consumed = 0
        }
        let available = buffer.count - consumed
        guard available >= FrameCodec.headerLength else { return nil }
        var length = 0
        for i in 0..<4 { length |= Int(buffer[consumed + i]) << (8 * i) }
        let typeByte = buffer[consumed + 4]
        guard let type = MessageType(rawValue: typeByte) else {
            // An HTTP server's status line ("/" is no message type): told apart for the line.
            if buffer[consumed..<(consumed + 5)].elementsEqual("HTTP/".utf8) { throw .httpAnswer }
            throw .unknownMessageType(typeByte)
        }
        guard length >= 1, length <= limits.maxLength(of: type) else {
            throw .tooLarge(what: "\(type) frame", size: UInt64(length), limit: limits.maxLength(of: type))
        }
        guard available >= 4 + length else {
            // An incomplete large chunk: what is buffered of it moves out, the rest goes straight
            // to its own array.
            let found: (id: ChunkID, data: [UInt8], count: Int)? = buffer.withUnsafeBytes { raw in
                let pending = UnsafeRawBufferPointer(rebasing: raw[consumed...])
                guard let (id, count) = largeChunkFrame(pending) else { return nil }
                var data: [UInt8] = []
                data.reserveCapacity(count)
                data.append(contentsOf: pending[FrameCodec.chunkHeaderLength...])
                return (id, data, count)
            }
            if let found {
                consumed = buffer.count
                gathering = found
            }
            return nil
        }
        let payload = buffer[(consumed + 5)..<(consumed + 4 + length)]
        consumed += 4 + length
        return try FrameCodec.decode(type: type, payload: payload, limits: limits)
    }

    /// The id and data size of the CHUNK frame `bytes` start with, if its data is large enough
    /// to gather and within the limits; otherwise nil (the buffer decides).
    private func largeChunkFrame(_ bytes: UnsafeRawBufferPointer) -> (ChunkID, Int)? {
        guard bytes.count >= FrameCodec.chunkHeaderLength, bytes[4] == MessageType.chunk.rawValue else { return nil }
        var length = 0
        for i in 0..<4 { length |= Int(bytes[i]) << (8 * i) }
        let count = length - 1 - 32
        guard count >= Self.gatherFrom, length <= limits.maxLength(of: .chunk) else { return nil }
        let id = ChunkID(Digest256(bytes: bytes[FrameCodec.headerLength..<FrameCodec.chunkHeaderLength])!)
        return (id, count)
    }
}
