// `rookery seed`: raven's chunk service. The pure SeedCore decides (handshake, manifests, the
// tracker, super-seeding); this driver owns the sockets, reads chunk bytes from the store when a
// socket has room, caps the upload, and times out silent connections.
import NixFormats
import Runtime
import Sodium
import Store
import Swarm

public final class SeedService {
    public struct Configuration: Sendable {
        public var listen: SocketAddress
        public var handshakeTimeoutMilliseconds: UInt64 = 10_000
        /// A connection that sends nothing for this long, with nothing left to send it, is closed.
        public var idleTimeoutMilliseconds: UInt64 = 30_000
        /// Upload cap in bytes per second over all connections; 0: none.
        public var uploadBytesPerSecond: UInt64 = 0
        /// Super-seeding: chunk bytes on their way at once while peers exist (SeedScheduler).
        public var maxBytesInFlight = SeedScheduler.defaultMaxBytesInFlight

        public init(listen: SocketAddress) { self.listen = listen }
    }

    public let loop: EventLoop
    public let configuration: Configuration
    let chunks: ChunkServer
    public let nodeID: [UInt8]
    var core: SeedCore
    private var listener: TCPListener?
    private var ticker: Timer?
    private var gate: UploadGate
    private var nextID = 1
    fileprivate var connections: [Int: ServedConnection] = [:]
    public private(set) var boundAddress: SocketAddress?
    /// Chunk bytes sent to connections that have closed; `bytesServed` adds the open ones.
    private var bytesOfClosed: UInt64 = 0
    /// Lines for the seed's log: a connection closed for a reason of the seed's (never an
    /// ordinary end), a node reported for corrupt chunks.
    public var notice: (String) -> Void = { _ in }

    public init(
        loop: EventLoop, configuration: Configuration, catalog: ManifestCatalog, store: StoreRoot, nodeID: [UInt8],
        randomSeed: UInt64
    ) {
        self.loop = loop
        self.configuration = configuration
        self.nodeID = nodeID
        chunks = ChunkServer(store: store)
        for entry in catalog.entries { chunks.add(entry.manifest) }
        core = SeedCore(
            catalog: catalog, hello: Hello(role: .seed, nodeID: nodeID, listenPort: 0), randomSeed: randomSeed,
            maxBytesInFlight: configuration.maxBytesInFlight)
        gate = UploadGate(loop: loop, bytesPerSecond: configuration.uploadBytesPerSecond)
    }

    /// Chunk bytes sent to closed connections that had joined a swarm, by manifest.
    private var bytesOfClosedBySwarm: [Digest256: UInt64] = [:]
    /// When the seed started (loop milliseconds).
    public private(set) var startedAt: UInt64 = 0

    /// Chunk bytes sent since start.
    public var bytesServed: UInt64 { connections.values.reduce(bytesOfClosed) { $0 + $1.sender.bytesSent } }

    /// The swarms as the tracker sees them (members, holdings), for status pages.
    public var tracker: Tracker { core.tracker }
    public var catalog: ManifestCatalog { core.catalog }
    public var connectionCount: Int { connections.count }

    /// Chunk bytes sent on one open connection (a tracker member's connection id).
    public func bytesSent(toConnection id: Int) -> UInt64 { connections[id]?.sender.bytesSent ?? 0 }

    /// Chunk bytes sent to members of `manifest`'s swarm since start, closed connections included.
    public func bytesServed(swarm manifest: Digest256) -> UInt64 {
        let open = tracker.swarms[manifest]?.members.keys.reduce(0) { $0 + bytesSent(toConnection: $1) } ?? 0
        return open + (bytesOfClosedBySwarm[manifest] ?? 0)
    }

    /// Serves one more manifest from now on (a reload of raven's state); nil if it was served
    /// already, else its decoded body.
    public func add(_ signed: SignedManifest) throws(WireError) -> Manifest? {
        guard let entry = try core.add(signed) else { return nil }
        chunks.add(entry.manifest)
        return entry.manifest
    }

    public func start() throws(RuntimeError) {
        startedAt = loop.nowMilliseconds
        let listener = try TCPListener(loop: loop)
        boundAddress = try listener.listen(on: configuration.listen) { [weak self] connection in
            self?.accept(connection)
        }
        self.listener = listener
        let ticker = try Timer(loop: loop)
        ticker.start(after: 250, repeat: 250) { [weak self] in
            guard let self else { return }
            self.perform(self.core.tick(now: self.loop.nowMilliseconds))
        }
        self.ticker = ticker
    }

    /// Stops listening and closes every connection, so the loop can end (graceful stop).
    public func stop() {
        listener?.close()
        listener = nil
        ticker?.close()
        ticker = nil
        for id in connections.keys.sorted() { finish(id) }
        gate.close()
    }

    private func accept(_ connection: TCPConnection) {
        let id = nextID
        nextID += 1
        let sender = ChunkSender(connection: connection, gate: gate) {
            [weak self] id in (try? self?.chunks.outgoing(id)) ?? nil
        }
        let handler = ServedConnection(service: self, id: id, connection: connection, sender: sender)
        connections[id] = handler
        core.accepted(id, remote: connection.peerAddress.flatMap { PeerAddress(host: $0.host, port: $0.port) })
        handler.start()
    }

    fileprivate func perform(_ actions: [SeedCore.Action]) {
        for action in actions {
            switch action {
            case .send(let id, let message):
                connections[id]?.connection.write(FrameCodec.encode(message))
            case .serve(let id, let ids):
                connections[id]?.sender.enqueue(ids)
            case .close(let id, let reason):
                drop(id, because: reason)
            case .reported(let by, let nodeIDs):
                for node in nodeIDs {
                    let addresses = Set(
                        tracker.swarms.values.flatMap(\.members.values).filter { $0.nodeID == node }.compactMap(
                            \.address))
                    let at =
                        addresses.isEmpty ? "" : " at " + addresses.map(\.description).sorted().joined(separator: ", ")
                    notice(
                        "node \(Hex.encode(node))\(at) reported by \(who(by)) for chunks that failed verification: "
                            + "listed to no peer from now on")
                }
            }
        }
    }

    /// Connection `id` for the log: the address it serves peers on, as `rookery status` lists
    /// members, or else where it connected from.
    fileprivate func who(_ id: Int) -> String {
        if let member = tracker.swarm(of: id)?.1.members[id], let address = member.address {
            return address.description
        }
        return connections[id]?.connection.peerAddress.map(\.description) ?? "connection \(id)"
    }

    /// Closes connection `id` for a reason of the seed's, and says so in the log (an ordinary
    /// end, `finish`, says nothing).
    fileprivate func drop(_ id: Int, because reason: String) {
        notice("closed \(who(id)): \(reason)")
        finish(id)
    }

    fileprivate func finish(_ id: Int) {
        guard let handler = connections.removeValue(forKey: id) else { return }
        bytesOfClosed += handler.sender.bytesSent
        if let swarm = core.tracker.swarm(of: id)?.id {
            bytesOfClosedBySwarm[swarm, default: 0] += handler.sender.bytesSent
        }
        let freed = core.closed(id)
        handler.close()
        perform(freed)
    }
}

/// One client of the seed: its frame decoder and watchdog.
private final class ServedConnection {
    unowned let service: SeedService
    let id: Int
    let connection: TCPConnection
    let sender: ChunkSender
    var decoder: FrameDecoder
    var watchdog: Timer?
    var lastActivity: UInt64 = 0

    init(service: SeedService, id: Int, connection: TCPConnection, sender: ChunkSender) {
        self.service = service
        self.id = id
        self.connection = connection
        self.sender = sender
        var limits = FrameLimits()
        limits.maxManifestBytes = 0  // clients never send manifests to the seed
        decoder = FrameDecoder(limits: limits)
    }

    func start() {
        let service = self.service
        let id = self.id
        do {
            try connection.startReading(
                onData: { [weak self] bytes in self?.received(bytes) }, onEnd: { _ in service.finish(id) })
            // One timer watches both the handshake and idleness, checking a few times per limit.
            let timer = try Timer(loop: service.loop)
            let configuration = service.configuration
            let period = max(
                100, min(configuration.handshakeTimeoutMilliseconds, configuration.idleTimeoutMilliseconds) / 4)
            lastActivity = service.loop.nowMilliseconds
            timer.start(after: period, repeat: period) { [weak self] in
                guard let self else { return }
                let quiet = service.loop.nowMilliseconds - self.lastActivity
                if service.core.state(of: id) == .awaitingHello && quiet >= configuration.handshakeTimeoutMilliseconds {
                    service.drop(id, because: "no HELLO within \(quiet) ms")
                } else if quiet >= configuration.idleTimeoutMilliseconds
                    && (self.sender.isIdle || self.connection.pausedByQueue)
                {
                    // Idle, or not reading what it asked for (8 MiB wait to be written to it).
                    if self.connection.pausedByQueue {
                        service.drop(id, because: "it read nothing of what it asked for in \(quiet) ms")
                    } else {
                        service.finish(id)
                    }
                }
            }
            watchdog = timer
        } catch {
            service.finish(id)
        }
    }

    func received(_ bytes: UnsafeRawBufferPointer) {
        lastActivity = service.loop.nowMilliseconds
        decoder.append(bytes)
        while !connection.isClosed {
            let message: Message?
            do {
                message = try decoder.next()
            } catch {
                service.perform(service.core.malformed(id, error))
                return
            }
            guard let message else { break }
            service.perform(service.core.received(id, message, now: service.loop.nowMilliseconds))
        }
    }

    func close() {
        watchdog?.close()
        watchdog = nil
        sender.close()
        connection.close()
    }
}
