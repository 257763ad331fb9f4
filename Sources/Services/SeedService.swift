// `rookery seed`: serves manifests and chunks from the store over the chunk protocol. One pure
// ServerSession per connection; chunk bytes are read from the store when the socket has room.
import NixFormats
import Runtime
import Store
import Swarm

public final class SeedService {
    public struct Configuration: Sendable {
        public var listen: SocketAddress
        /// Bytes queued on one socket before the seed stops reading more chunks for it.
        public var writeHighWater = 4 << 20
        public var handshakeTimeoutMilliseconds: UInt64 = 10_000
        /// A connection that sends nothing for this long, with nothing left to send it, is closed.
        public var idleTimeoutMilliseconds: UInt64 = 30_000

        public init(listen: SocketAddress) { self.listen = listen }
    }

    let loop: EventLoop
    let configuration: Configuration
    let catalog: ManifestCatalog
    let chunks: ChunkServer
    let nodeID: [UInt8]
    private var listener: TCPListener?
    public private(set) var boundAddress: SocketAddress?
    /// Chunk bytes sent since start (for logs and, later, status).
    public private(set) var bytesServed: UInt64 = 0

    public init(
        loop: EventLoop, configuration: Configuration, catalog: ManifestCatalog, store: StoreRoot, nodeID: [UInt8]
    ) {
        self.loop = loop
        self.configuration = configuration
        self.catalog = catalog
        self.nodeID = nodeID
        chunks = ChunkServer(store: store)
        for entry in catalog.entries { chunks.add(entry.manifest) }
    }

    public func start() throws(RuntimeError) {
        let listener = try TCPListener(loop: loop)
        boundAddress = try listener.listen(on: configuration.listen) { [weak self] connection in
            self?.accept(connection)
        }
        self.listener = listener
    }

    /// Stops listening and closes every connection, so the loop can end (graceful stop).
    public func stop() {
        listener?.close()
        listener = nil
        for handler in Array(connections.values) { handler.finish() }
    }

    /// Open connections; a handler removes itself when it finishes.
    fileprivate var connections: [ObjectIdentifier: ServedConnection] = [:]

    private func accept(_ connection: TCPConnection) {
        let handler = ServedConnection(service: self, connection: connection)
        connections[ObjectIdentifier(handler)] = handler
        handler.start()
    }

    fileprivate func count(_ bytes: Int) { bytesServed += UInt64(bytes) }
}

/// One client of the seed: decoder, session, and a queue of chunks to send as the socket drains.
private final class ServedConnection {
    let service: SeedService
    let connection: TCPConnection
    var decoder: FrameDecoder
    var session: ServerSession
    var pending: [ChunkID] = []
    var pendingHead = 0
    var watchdog: Timer?
    var lastActivity: UInt64 = 0

    init(service: SeedService, connection: TCPConnection) {
        self.service = service
        self.connection = connection
        var limits = FrameLimits()
        limits.maxManifestBytes = 0  // clients never send manifests to the seed
        decoder = FrameDecoder(limits: limits)
        session = ServerSession(
            hello: Hello(role: .seed, nodeID: service.nodeID, listenPort: service.boundAddress?.port ?? 0))
    }

    func start() {
        // The connection's callbacks hold this handler; it lives as long as the socket.
        connection.whenDrained { [self] in pump() }
        do {
            try connection.startReading(onData: { [self] bytes in received(bytes) }, onEnd: { [self] _ in finish() })
            // One timer watches both the handshake and idleness, checking a few times per limit.
            let timer = try Timer(loop: service.loop)
            let configuration = service.configuration
            let period = max(
                100, min(configuration.handshakeTimeoutMilliseconds, configuration.idleTimeoutMilliseconds) / 4)
            lastActivity = service.loop.nowMilliseconds
            timer.start(after: period, repeat: period) { [self] in
                let quiet = service.loop.nowMilliseconds - lastActivity
                if session.state == .awaitingHello && quiet >= configuration.handshakeTimeoutMilliseconds {
                    finish()
                } else if quiet >= configuration.idleTimeoutMilliseconds && pendingHead == pending.count
                    && connection.queuedBytes == 0
                {
                    finish()
                }
            }
            watchdog = timer
        } catch {
            finish()
        }
    }

    func received(_ bytes: UnsafeRawBufferPointer) {
        lastActivity = service.loop.nowMilliseconds
        decoder.append(bytes)
        while true {
            let message: Message?
            do {
                message = try decoder.next()
            } catch {
                perform(session.malformed(error))
                return
            }
            guard let message else { break }
            perform(session.received(message, catalog: service.catalog))
            if connection.isClosed { return }
        }
    }

    func perform(_ actions: [ServerSession.Action]) {
        for action in actions {
            switch action {
            case .send(let message):
                connection.write(FrameCodec.encode(message))
            case .serve(let ids):
                pending.append(contentsOf: ids)
                pump()
            case .close:
                finish()
            }
        }
    }

    /// Sends queued chunks while the socket has room; reading pauses while it is full.
    func pump() {
        while pendingHead < pending.count && connection.queuedBytes < service.configuration.writeHighWater {
            let id = pending[pendingHead]
            pendingHead += 1
            do {
                if let data = try service.chunks.read(id) {
                    connection.write(FrameCodec.encode(.chunk(id, data[...])))
                    service.count(data.count)
                } else {
                    connection.write(FrameCodec.encode(.missing(id)))
                }
            } catch {
                connection.write(FrameCodec.encode(.missing(id)))
            }
        }
        if pendingHead == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingHead = 0
            connection.resumeReading()
        } else {
            connection.pauseReading()
        }
    }

    func finish() {
        service.connections[ObjectIdentifier(self)] = nil
        watchdog?.close()
        watchdog = nil
        connection.whenDrained {}
        connection.close()
    }
}
