// A TCP stream on the loop: connect or accept, read into a reusable buffer, write with a
// bounded queue. Alive (retained by its handle) from init until its close callback.
import CLibUV
import Glibc

public final class TCPConnection {
    let handle: UnsafeMutablePointer<uv_tcp_t>
    private var readBuffer: UnsafeMutableRawBufferPointer
    private var onConnect: ((RuntimeError?) -> Void)?
    private var onData: ((UnsafeRawBufferPointer) -> Void)?
    private var onEnd: ((RuntimeError?) -> Void)?
    private var onDrained: (() -> Void)?
    public private(set) var isClosed = false
    /// Bytes handed to `write` and not yet written to the socket, and the writes they came in.
    public private(set) var queuedBytes = 0
    private var queuedWrites = 0
    /// What one queued write holds besides its bytes: its request object and libuv's uv_write_t
    /// (a flood of 13-byte writes is mostly this).
    static let writeOverhead = 256
    /// While more than this waits to be written (bytes, and each write's overhead), the socket is
    /// not read; reading resumes when it has drained. A peer that sends requests and never reads
    /// the answers cannot grow this side's memory past it (plus one read's answers). Above every
    /// queue a peer that reads makes: one chunk frame (4 MiB) and a batch; a larger manifest frame
    /// pauses reading until it is out, while the peer waits for it anyway.
    public static let maxQueuedWhileReading = 8 << 20
    /// Not reading because the caller paused (`pauseReading`), or because more than
    /// `maxQueuedWhileReading` waits to be written; reading runs when neither holds.
    private var pausedByCaller = false
    public private(set) var pausedByQueue = false

    var stream: UnsafeMutablePointer<uv_stream_t> {
        UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
    }

    public init(loop: EventLoop, readBufferSize: Int = 256 * 1024) throws(RuntimeError) {
        handle = .allocate(capacity: 1)
        readBuffer = .allocate(byteCount: readBufferSize, alignment: 16)
        try uvCheck(uv_tcp_init(loop.raw, handle), "uv_tcp_init")
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        _ = uv_tcp_nodelay(handle, 1)
    }

    deinit {
        handle.deallocate()
        readBuffer.deallocate()
    }

    /// Connects to `address`; `done` gets nil on success.
    public func connect(to address: SocketAddress, _ done: @escaping (RuntimeError?) -> Void) throws(RuntimeError) {
        onConnect = done
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        do {
            _ = try address.withSockaddr { (addr) throws(RuntimeError) in
                try uvCheck(
                    uv_tcp_connect(request, handle, addr) { req, status in
                        let me = owner(req!.pointee.handle, as: TCPConnection.self)
                        req!.deallocate()
                        let callback = me.onConnect
                        me.onConnect = nil
                        callback?(status < 0 ? RuntimeError(code: status, call: "connect") : nil)
                    }, "uv_tcp_connect")
            }
        } catch {
            request.deallocate()
            throw error
        }
    }

    /// Delivers received bytes (valid only during the call) until end of stream or an error.
    public func startReading(
        onData: @escaping (UnsafeRawBufferPointer) -> Void, onEnd: @escaping (RuntimeError?) -> Void
    )
        throws(RuntimeError)
    {
        self.onData = onData
        self.onEnd = onEnd
        guard !pausedByQueue else { return }
        try uvCheck(
            uv_read_start(
                stream,
                { h, _, buf in
                    let me = owner(h, as: TCPConnection.self)
                    buf!.pointee = uv_buf_init(
                        me.readBuffer.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(me.readBuffer.count))
                },
                { s, nread, _ in
                    let me = owner(s, as: TCPConnection.self)
                    if nread > 0 {
                        me.onData?(UnsafeRawBufferPointer(rebasing: me.readBuffer[0..<nread]))
                    } else if nread < 0 {
                        let end = me.onEnd
                        me.onEnd = nil
                        me.onData = nil
                        uv_read_stop(s)
                        end?(nread == Int(UV_EOF.rawValue) ? nil : RuntimeError(code: Int32(nread), call: "read"))
                    }
                }), "uv_read_start")
    }

    /// Stops reading (back-pressure); `resumeReading` starts again with the same callbacks.
    public func pauseReading() {
        pausedByCaller = true
        if !isClosed { uv_read_stop(stream) }
    }

    public func resumeReading() {
        pausedByCaller = false
        restartReading()
    }

    private func restartReading() {
        guard !isClosed, !pausedByCaller, let data = onData, let end = onEnd else { return }
        try? startReading(onData: data, onEnd: end)
    }

    /// Queues `bytes` for writing. `onDrained` (see `whenDrained`) fires when the queue empties.
    public func write(_ bytes: [UInt8]) {
        write(count: bytes.count) { buffer in bytes.withUnsafeBytes { buffer.copyMemory(from: $0) } }
    }

    /// Queues `count` bytes that `fill` writes straight into the write buffer (a file read lands
    /// there with no copy). When `fill` throws, nothing is queued and the error is rethrown.
    public func write<E: Error>(count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(E) -> Void) throws(E) {
        guard !isClosed, count > 0 else { return }
        let request = WriteRequest(count: count)
        try fill(request.storage)
        queuedBytes += count
        queuedWrites += 1
        if queuedBytes + queuedWrites * Self.writeOverhead > Self.maxQueuedWhileReading && !pausedByQueue {
            pausedByQueue = true
            uv_read_stop(stream)
        }
        request.request.pointee.data = Unmanaged.passRetained(request).toOpaque()
        var buf = uv_buf_init(request.storage.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(count))
        let rc = uv_write(request.request, stream, &buf, 1) { req, status in
            let request = Unmanaged<WriteRequest>.fromOpaque(req!.pointee.data).takeRetainedValue()
            let me = owner(req!.pointee.handle, as: TCPConnection.self)
            me.queuedBytes -= request.storage.count
            me.queuedWrites -= 1
            if status < 0 { return me.fail(RuntimeError(code: status, call: "write")) }
            guard me.queuedBytes == 0 else { return }
            if me.pausedByQueue {
                me.pausedByQueue = false
                me.restartReading()
            }
            me.onDrained?()
        }
        if rc < 0 {
            Unmanaged<WriteRequest>.fromOpaque(request.request.pointee.data).release()
            queuedBytes -= count
            queuedWrites -= 1
            fail(RuntimeError(code: rc, call: "uv_write"))
        }
    }

    /// Writes what the socket takes now, queueing nothing; returns the bytes taken (0 when the
    /// socket is full). Only while nothing is queued, or these bytes would overtake the queue. A
    /// failure closes the connection and tells the reader, as a failed write does.
    public func tryWrite(_ bytes: UnsafeRawBufferPointer) -> Int {
        precondition(queuedBytes == 0, "tryWrite with writes queued")
        guard !isClosed, !bytes.isEmpty else { return 0 }
        var buf = uv_buf_init(
            UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: CChar.self)), UInt32(bytes.count))
        let rc = uv_try_write(stream, &buf, 1)
        if rc == UV_EAGAIN.rawValue { return 0 }
        if rc < 0 {
            fail(RuntimeError(code: rc, call: "uv_try_write"))
            return 0
        }
        return Int(rc)
    }

    /// Sends up to `count` bytes of the open file `fd` from `offset` on, straight from the page
    /// cache (sendfile(2): no copy in this process); returns the bytes taken, 0 when the socket
    /// is full or the file ends. Same rules as `tryWrite`.
    public func trySendFile(_ fd: Int32, offset: UInt64, count: Int) -> Int {
        precondition(queuedBytes == 0, "trySendFile with writes queued")
        guard !isClosed, count > 0 else { return 0 }
        var socket = uv_os_fd_t()
        let rc = uv_fileno(UnsafeRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self), &socket)
        if rc < 0 {
            fail(RuntimeError(code: rc, call: "uv_fileno"))
            return 0
        }
        var position = off_t(offset)
        while true {
            let n = sendfile(socket, fd, &position, count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN { return 0 }
            fail(RuntimeError(code: -errno, call: "sendfile"))
            return 0
        }
    }

    /// Closes after a failed write and tells the reader, as a failed read would.
    public func fail(_ error: RuntimeError) {
        guard !isClosed else { return }
        let end = onEnd
        close()
        end?(error)
    }

    /// Called each time all queued writes have completed.
    public func whenDrained(_ callback: @escaping () -> Void) { onDrained = callback }

    /// Closes the socket; pending writes are cancelled. `onEnd` is not called.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        onData = nil
        onEnd = nil
        onConnect = nil
        onDrained = nil
        closeRetainedHandle(handle)
    }

    /// The peer's address, if connected.
    public var peerAddress: SocketAddress? {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getpeername(handle, $0, &length) }
        }
        guard rc == 0 else { return nil }
        return SocketAddress(storage: storage)
    }
}

/// One uv_write with the bytes it writes; freed in the write callback.
final class WriteRequest {
    let request: UnsafeMutablePointer<uv_write_t> = .allocate(capacity: 1)
    let storage: UnsafeMutableRawBufferPointer

    init(count: Int) {
        storage = .allocate(byteCount: count, alignment: 16)
    }

    deinit {
        request.deallocate()
        storage.deallocate()
    }
}
