// The upload cap of one node (seed or peer): a token bucket shared by all its connections.
// A sender that must wait parks here; a timer wakes the parked senders when tokens are back.
import Runtime
import Swarm

final class UploadGate {
    private let loop: EventLoop
    private var bucket: TokenBucket?
    private var timer: Timer?
    private var parked: [ObjectIdentifier: ChunkSender] = [:]

    /// `bytesPerSecond` 0: no cap.
    init(loop: EventLoop, bytesPerSecond: UInt64) {
        self.loop = loop
        if bytesPerSecond > 0 {
            // A burst of a quarter second (at least one largest chunk) keeps the pipe full.
            let burst = max(bytesPerSecond / 4, UInt64(ChunkLayout.maximumChunkSize))
            bucket = TokenBucket(bytesPerSecond: bytesPerSecond, burst: burst, now: loop.nowMilliseconds)
        }
    }

    /// True when `bytes` may go now; otherwise `sender` is pumped again later.
    func admit(_ bytes: Int, for sender: ChunkSender) -> Bool {
        guard var b = bucket else { return true }
        let wait = b.take(UInt64(bytes), now: loop.nowMilliseconds)
        bucket = b
        if wait == 0 { return true }
        parked[ObjectIdentifier(sender)] = sender
        if timer == nil, let t = try? Timer(loop: loop) {
            timer = t
            t.start(after: wait, repeat: 0) { [weak self] in self?.wake() }
        }
        return false
    }

    private func wake() {
        timer?.close()
        timer = nil
        let senders = parked.values
        parked = [:]
        for s in senders { s.pump() }
    }

    func forget(_ sender: ChunkSender) { parked[ObjectIdentifier(sender)] = nil }

    func close() {
        timer?.close()
        timer = nil
        parked = [:]
    }
}

/// Sends the chunks one connection asked for, as its socket drains: bytes are read only when
/// there is room (so a slow reader costs no memory), within the node's upload cap.
final class ChunkSender {
    let connection: TCPConnection
    private let gate: UploadGate
    private let read: (ChunkID) -> [UInt8]?
    private let highWater: Int
    private var pending: [ChunkID] = []
    private var head = 0
    /// The head chunk's bytes, read but not yet admitted by the gate (not read again).
    private var held: [UInt8]?
    /// Chunk bytes written to this connection.
    private(set) var bytesSent: UInt64 = 0
    /// Most chunks one connection may have queued; beyond it they are refused (MISSING).
    static let maxPending = 1024

    init(connection: TCPConnection, gate: UploadGate, highWater: Int, read: @escaping (ChunkID) -> [UInt8]?) {
        self.connection = connection
        self.gate = gate
        self.highWater = highWater
        self.read = read
        connection.whenDrained { [weak self] in self?.pump() }
    }

    func enqueue(_ ids: [ChunkID]) {
        for id in ids {
            if pending.count - head < Self.maxPending {
                pending.append(id)
            } else {
                connection.write(FrameCodec.encode(.missing(id)))
            }
        }
        pump()
    }

    var isIdle: Bool { head == pending.count && connection.queuedBytes == 0 }

    func pump() {
        while head < pending.count && connection.queuedBytes < highWater && !connection.isClosed {
            let id = pending[head]
            guard let data = held ?? read(id) else {
                head += 1
                connection.write(FrameCodec.encode(.missing(id)))
                continue
            }
            guard gate.admit(data.count, for: self) else {
                held = data
                return
            }
            held = nil
            head += 1
            // Header and data straight into libuv's write buffer: one copy, not an encoded frame
            // copied again.
            let header = FrameCodec.chunkHeader(id, dataCount: data.count)
            connection.write(count: header.count + data.count) { buffer in
                header.withUnsafeBytes { buffer.copyMemory(from: $0) }
                data.withUnsafeBytes {
                    UnsafeMutableRawBufferPointer(rebasing: buffer[header.count...]).copyMemory(from: $0)
                }
            }
            bytesSent += UInt64(data.count)
        }
        if head == pending.count {
            pending.removeAll(keepingCapacity: true)
            head = 0
        }
    }

    func close() {
        held = nil
        gate.forget(self)
        connection.whenDrained {}
    }
}
