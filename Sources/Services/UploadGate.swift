// The upload cap of one node (seed or peer): a token bucket shared by all its connections.
// A sender that must wait parks here; a timer wakes the parked senders when tokens are back.
import Glibc
import Runtime
import Store
import Swarm

final class UploadGate {
    private let loop: EventLoop
    private var bucket: TokenBucket?
    private var timer: Timer?
    private var parked: [ObjectIdentifier: ChunkSender] = [:]
    /// Small frames of one sender's pump, copied together to leave in one write.
    let batch = FrameBatch()

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
/// there is room (so a slow reader costs no memory), within the node's upload cap. Chunks go to
/// the socket directly (a large one-file chunk by sendfile, no copy in this process; small ones
/// copied together into one write, a `FrameBatch`; any other as one write) while nothing waits
/// in the connection's write queue; the rest the socket did not take waits there, and the next
/// chunk goes when it has drained. So the socket's own buffer is the only queue.
final class ChunkSender {
    let connection: TCPConnection
    private let gate: UploadGate
    private let read: (ChunkID) -> OutgoingChunk?
    private var pending: [ChunkID] = []
    private var head = 0
    /// The head chunk, looked up but not yet admitted by the gate (not looked up again).
    private var held: OutgoingChunk?
    /// Chunk bytes written to this connection.
    private(set) var bytesSent: UInt64 = 0
    /// Chunks up to this size always go as one copied write.
    static let copiedChunkLimit = 64 << 10
    /// Most chunks one connection may have queued; beyond it they are refused (MISSING).
    static let maxPending = 1024

    private var batch: FrameBatch { gate.batch }

    init(connection: TCPConnection, gate: UploadGate, read: @escaping (ChunkID) -> OutgoingChunk?) {
        self.connection = connection
        self.gate = gate
        self.read = read
        connection.whenDrained { [weak self] in self?.pump() }
    }

    func enqueue(_ ids: [ChunkID]) {
        var refused: [UInt8] = []  // one write for all, not one per chunk
        for id in ids {
            if pending.count - head < Self.maxPending {
                pending.append(id)
            } else {
                refused += FrameCodec.encode(.missing(id))
            }
        }
        connection.write(refused)
        pump()
    }

    var isIdle: Bool { head == pending.count && connection.queuedBytes == 0 }

    func pump() {
        while head < pending.count && connection.queuedBytes == 0 && !connection.isClosed {
            let id = pending[head]
            guard let chunk = held ?? read(id) else {
                head += 1
                batch.append(FrameCodec.encode(.missing(id)))
                if batch.isFull { flushBatch() }
                continue
            }
            let frameCount = FrameCodec.chunkHeaderLength + chunk.count
            let batched = frameCount <= FrameBatch.frameLimit && Self.sendsAsOneCopy(chunk)
            if !batched && !batch.isEmpty {
                held = chunk
                flushBatch()
                continue
            }
            guard gate.admit(chunk.count, for: self) else {
                held = chunk
                break
            }
            held = nil
            head += 1
            let header = FrameCodec.chunkHeader(id, dataCount: chunk.count)
            if batched {
                do {
                    try batch.append(frameCount) { (buffer) throws(StoreError) in
                        try Self.copyFrame(header, chunk, from: 0, into: buffer)
                    }
                    bytesSent += UInt64(chunk.count)
                } catch {
                    batch.append(FrameCodec.encode(.missing(id)))
                }
                if batch.isFull { flushBatch() }
                continue
            }
            let sent: Int
            do { sent = try sendDirect(header, chunk) } catch {
                connection.write(FrameCodec.encode(.missing(id)))
                continue
            }
            guard sent < frameCount else {
                bytesSent += UInt64(chunk.count)
                continue
            }
            // The socket is full: the rest goes into one write buffer (file reads land there, no
            // array between), and the next chunk goes once it has drained.
            do {
                try connection.write(count: frameCount - sent) { (buffer) throws(StoreError) in
                    try Self.copyFrame(header, chunk, from: sent, into: buffer)
                }
                bytesSent += UInt64(chunk.count)
            } catch {
                // Part of the frame is on the wire already (its file changed since): the stream
                // cannot go on.
                guard sent == 0 else { return connection.fail(.io("chunk file read")) }
                connection.write(FrameCodec.encode(.missing(id)))
            }
        }
        flushBatch()
        if head == pending.count {
            pending.removeAll(keepingCapacity: true)
            head = 0
        }
    }

    /// Writes the frames gathered in the batch; what the socket does not take now waits in the
    /// connection's queue. The batch is emptied first and its bytes read only before any callback
    /// can run: a failed write closes the connection, and what that sets off may pump other
    /// senders, which fill the same batch.
    private func flushBatch() {
        guard !batch.isEmpty else { return }
        let frames = batch.bytes
        batch.removeAll()
        let sent = connection.tryWrite(frames)
        if sent < frames.count && !connection.isClosed { connection.write(Array(frames[sent...])) }
    }

    /// Whether the frame goes out as one write with its pieces copied together, rather than
    /// piece by piece: sendfile saves copying a file piece, but each piece costs a syscall and,
    /// with Nagle off, a segment of its own. A small path's chunk is framing, file, framing: four
    /// segments a chunk, and a thousand small paths fetched 15 % slower over loopback (median
    /// 0.164 → 0.138 s, alternating runs). Only a large chunk that is one file's bytes goes by sendfile.
    static func sendsAsOneCopy(_ chunk: OutgoingChunk) -> Bool {
        guard chunk.count > copiedChunkLimit, chunk.pieces.count == 1, case .file = chunk.pieces[0] else { return true }
        return false
    }

    /// Copies the frame's bytes from `start` on (header, then chunk) into `buffer`, exactly that
    /// long; file pieces are read straight into it.
    private static func copyFrame(
        _ header: [UInt8], _ chunk: OutgoingChunk, from start: Int, into buffer: UnsafeMutableRawBufferPointer
    ) throws(StoreError) {
        let headerLeft = max(header.count - start, 0)
        header[(header.count - headerLeft)...].withUnsafeBytes { buffer.copyMemory(from: $0) }
        try chunk.copy(
            (start + headerLeft - header.count)..<chunk.count,
            into: UnsafeMutableRawBufferPointer(rebasing: buffer[headerLeft...]))
    }

    /// Sends the frame's bytes the socket takes now; returns how many. Its files are opened
    /// first, so one that cannot be opened throws before any byte is sent (a copied frame's are
    /// read whole first).
    private func sendDirect(_ header: [UInt8], _ chunk: OutgoingChunk) throws(StoreError) -> Int {
        if Self.sendsAsOneCopy(chunk) {
            let frame = try [UInt8](unsafeUninitializedCapacity: header.count + chunk.count) {
                (buffer, n) throws(StoreError) in
                try Self.copyFrame(header, chunk, from: 0, into: UnsafeMutableRawBufferPointer(buffer))
                n = buffer.count
            }
            return frame.withUnsafeBytes { connection.tryWrite($0) }
        }
        var files: [Int32] = []
        defer { for fd in files { Glibc.close(fd) } }
        for case .file(let path, _, _) in chunk.pieces { files.append(try FileIO.openForReading(path)) }
        var sent = header.withUnsafeBytes { connection.tryWrite($0) }
        guard sent == header.count else { return sent }
        var nextFile = 0
        for piece in chunk.pieces {
            var taken = 0
            switch piece {
            case .bytes(let bytes):
                taken = bytes.withUnsafeBytes { connection.tryWrite($0) }
            case .file(_, let offset, let count):
                let fd = files[nextFile]
                nextFile += 1
                while taken < count {
                    let n = connection.trySendFile(fd, offset: offset + UInt64(taken), count: count - taken)
                    if n == 0 { break }
                    taken += n
                }
            }
            sent += taken
            guard taken == piece.count else { return sent }
        }
        return sent
    }

    func close() {
        held = nil
        gate.forget(self)
        connection.whenDrained {}
    }
}
