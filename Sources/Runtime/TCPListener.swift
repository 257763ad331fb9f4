// A listening TCP socket; each accepted connection is handed over already initialised.
import CLibUV

public final class TCPListener {
    private let handle: UnsafeMutablePointer<uv_tcp_t>
    private let loop: EventLoop
    private var onConnection: ((TCPConnection) -> Void)?
    private var closed = false
    /// Each accepted connection's read buffer: small for HTTP clients, which may be many and idle.
    private let readBufferSize: Int

    public init(loop: EventLoop, readBufferSize: Int = 256 * 1024) throws(RuntimeError) {
        self.loop = loop
        self.readBufferSize = readBufferSize
        handle = .allocate(capacity: 1)
        try uvCheck(uv_tcp_init(loop.raw, handle), "uv_tcp_init")
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    deinit { handle.deallocate() }

    /// Binds and listens; returns the bound address (port 0 picks a free port).
    @discardableResult
    public func listen(
        on address: SocketAddress, backlog: Int32 = 511, _ onConnection: @escaping (TCPConnection) -> Void
    )
        throws(RuntimeError) -> SocketAddress
    {
        self.onConnection = onConnection
        _ = try address.withSockaddr { (addr) throws(RuntimeError) in
            try uvCheck(uv_tcp_bind(handle, addr, 0), "bind \(address)")
        }
        let stream = UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
        try uvCheck(
            uv_listen(stream, backlog) { server, status in
                let me = owner(server, as: TCPListener.self)
                guard status >= 0, let connection = try? TCPConnection(loop: me.loop, readBufferSize: me.readBufferSize)
                else { return }
                if uv_accept(server, connection.stream) == 0 {
                    me.onConnection?(connection)
                } else {
                    connection.close()
                }
            }, "listen \(address)")
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getsockname(handle, $0, &length) }
        }
        return SocketAddress(storage: storage) ?? address
    }

    public func close() {
        guard !closed else { return }
        closed = true
        onConnection = nil
        closeRetainedHandle(handle)
    }
}

extension SocketAddress {
    init?(storage: sockaddr_storage) {
        var storage = storage
        var name = [CChar](repeating: 0, count: 64)
        let family = Int32(storage.ss_family)
        let port: UInt16
        if family == AF_INET {
            port = withUnsafePointer(to: &storage) { p in
                p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                    var a2 = a.pointee
                    _ = uv_ip4_name(&a2, &name, name.count)
                    return UInt16(bigEndian: a.pointee.sin_port)
                }
            }
        } else if family == AF_INET6 {
            port = withUnsafePointer(to: &storage) { p in
                p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                    var a2 = a.pointee
                    _ = uv_ip6_name(&a2, &name, name.count)
                    return UInt16(bigEndian: a.pointee.sin6_port)
                }
            }
        } else {
            return nil
        }
        let bytes = name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        self.init(host: String(decoding: bytes, as: UTF8.self), port: port)
    }
}
