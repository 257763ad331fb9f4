// The client: fetch a closure from the swarm (peers and the seed) into a target root. Shared by
// `rookery fetch` and the initrd agent. The pure SwarmClient decides; this driver owns the
// sockets, the thread pool and the disk: it hashes received chunks off the loop thread, hands
// verified ones to the chunk cache through the disk queue, also off the loop thread (the cache
// restores each path as its chunks come, and commits it atomically when complete), serves what
// it holds to other peers, writes the frames of each batch of events once per link, and writes
// the Nix registration when everything is on disk.
import NixFormats
import Runtime
import Sodium
import Store
import Swarm

public final class FetchEngine {
    public struct Configuration: Sendable {
        public var seed: SocketAddress
        public var trustedKeys: [NixPublicKey]
        public var toplevel: StorePath
        public var root: StoreRoot
        /// Where the registration for `nix-store --load-db` goes.
        public var registrationPath: String
        /// Where this node serves chunks to peers; nil: it does not.
        public var listen: SocketAddress?
        public var swarm = SwarmClient.Configuration()
        /// Also check each restored path's SHA-256 (chunks are always checked against their
        /// signed BLAKE2b ids; raven checked every NAR hash against Nix's at publish).
        public var checksNarHash = false
        /// Hash received chunks and write them to disk on the loop thread instead of the thread
        /// pool (benchmarks).
        public var hashesOnLoop = false
        /// After finishing, serve peers until none asked for this long …
        public var lingerIdleMilliseconds: UInt64 = 0
        /// … or this long at most.
        public var lingerMaxMilliseconds: UInt64 = 30_000
        /// Upload cap in bytes per second; 0: none.
        public var uploadBytesPerSecond: UInt64 = 0
        /// Fault injection for tests: serve every chunk with one byte flipped (a lying peer).
        public var corruptsUploads = false
        /// Fault injection for tests: every disk job waits this long first (a disk slower than
        /// the network).
        public var diskJobDelayMicroseconds: UInt32 = 0
        /// A booted machine (`rookery peer`): fetch nothing, write nothing, serve the paths of the
        /// manifest that are on disk until stopped. Each chunk read from the store is checked
        /// against its id before it is sent, since a live /nix/store is not only ours.
        public var servesOnly = false

        public init(seed: SocketAddress, trustedKeys: [NixPublicKey], toplevel: StorePath, root: StoreRoot) {
            self.seed = seed
            self.trustedKeys = trustedKeys
            self.toplevel = toplevel
            self.root = root
            registrationPath = root.rookeryDirectory + "/registration"
        }
    }

    public struct Report: Sendable {
        public var paths = 0
        public var pathsAlreadyPresent = 0
        /// Paths found at their final name but not whole (cut short by Nix, or not all on the disk
        /// after a power cut), set aside and fetched.
        public var pathsIncomplete = 0
        public var chunksReused = 0
        public var narBytes: UInt64 = 0
        public var swarm = SwarmClient.Statistics()
        /// Milliseconds from start to the trusted manifest, to the first chunk stored, and to
        /// the first chunk from a peer (0: never): where a swarm's start-up time goes.
        public var manifestMilliseconds: UInt64 = 0
        public var firstChunkMilliseconds: UInt64 = 0
        public var firstPeerChunkMilliseconds: UInt64 = 0
        /// Peers traded with when the fetch finished.
        public var peerLinks = 0
        /// The manifest came from a peer the seed named (1), not from the seed (0).
        public var manifestFromPeer = false
        /// Nothing was asked of the swarm: the manifest kept in the root by the fetch of this
        /// generation, verified again, found every path of the closure whole.
        public var manifestKept = false
        /// The process's peak resident memory when the fetch ended.
        public var peakResidentKiB: UInt64 = 0
        public var chunksFetched: Int { swarm.chunksFromSeed + swarm.chunksFromPeers }
        public var bytesFetched: UInt64 { swarm.bytesFromSeed + swarm.bytesFromPeers }

        /// One line for logs and the console (tests parse its `key=value` fields).
        public var summary: String {
            let fields: [(String, String)] = [
                ("chunks", "\(chunksFetched)"), ("bytes", "\(bytesFetched)"), ("seed_bytes", "\(swarm.bytesFromSeed)"),
                ("peer_bytes", "\(swarm.bytesFromPeers)"), ("reused", "\(chunksReused)"),
                ("incomplete", "\(pathsIncomplete)"),
                ("served_bytes", "\(swarm.bytesServed)"), ("banned", "\(swarm.peersBanned)"),
                ("stalls", "\(swarm.stalls)"), ("duplicates", "\(swarm.duplicateChunks)"),
                ("manifest_ms", "\(manifestMilliseconds)"), ("first_chunk_ms", "\(firstChunkMilliseconds)"),
                ("first_peer_chunk_ms", "\(firstPeerChunkMilliseconds)"), ("peer_links", "\(peerLinks)"),
                ("manifest_from_peer", manifestFromPeer ? "1" : "0"), ("manifest_kept", manifestKept ? "1" : "0"),
                ("peak_rss_kib", "\(peakResidentKiB)"),
            ]
            let text = fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
            return "\(paths) paths ready (\(pathsAlreadyPresent) were present); " + text
        }
    }

    public enum Outcome: Sendable {
        case finished(Report)
        case failed(String)
    }

    let loop: EventLoop
    let configuration: Configuration
    public let nodeID: [UInt8]
    let store: ChunkServer
    private var client: SwarmClient?
    private var links: [Int: Link] = [:]
    private var listener: TCPListener?
    private var timer: Timer?
    /// Resumes paused links on the loop's next turn.
    private var resumer: Timer?
    private var gate: UploadGate
    private var closure: [Int] = []
    private var finishedAt: UInt64?
    private var lastServed: UInt64 = 0
    private var startedAt: UInt64 = 0
    /// Held from the manifest's verdict to the end: one fetch at a time into a root (none for a
    /// node that only serves, which writes nothing).
    private var rootLock: RootLock?
    /// Received chunks on their way to a verdict (libuv's pool hashes them, several at a time).
    private var hashing: ChunkHashQueue!
    /// Verified chunks and finished paths on their way to disk (libuv's pool, in order).
    private var disk: DiskQueue!
    /// Verdicts not yet given to the client while the disk queue is full, in order, and their
    /// chunks' bytes.
    private var heldVerdicts: [ChunkHashQueue.Verdict] = []
    private var heldBytes = 0
    private var releasing = false
    /// Encoded frames per link, written when the outermost `batched` ends.
    private var outbox: [Int: [UInt8]] = [:]
    private var batchDepth = 0
    /// Chunk bytes received and not yet queued for the disk (hashing, or verified and held while
    /// the disk queue is full) above which links ask for and read no more. Held verdicts count:
    /// a disk slower than the network otherwise kept every chunk received in memory (a 62 MiB
    /// path with 2 ms per disk job: 56 MiB held, peak RSS 76 MiB).
    static let maxWaitingBytes = 4 << 20
    private var waitingBytes: Int { hashing.bytes + heldBytes }
    /// Bytes read from a link before the loop turns to other events (see `holdBack`).
    static let burstBytes = 1 << 20
    public private(set) var report = Report()
    public private(set) var outcome: Outcome?
    /// Called once when the outcome is set (the runner closes its signal watcher there).
    public var whenEnded: (() -> Void)?
    /// `servesOnly`: called once the manifest is verified and the node serves what it holds.
    public var whenServing: ((Report) -> Void)?
    /// Where this node serves peers, once listening.
    public private(set) var servingAddress: SocketAddress?
    /// The verified manifest, once it arrived.
    public var manifest: Manifest? { client?.manifest }
    /// The manifest's id and chunk table, once the manifest is trusted.
    public var manifestID: Digest256? { client?.manifestID }
    public var table: ChunkTable? { client?.table }
    /// Chunk counts and bytes so far (by source, served).
    public var statistics: SwarmClient.Statistics { client?.statistics ?? SwarmClient.Statistics() }

    /// One socket and its frame decoder.
    final class Link {
        let connection: TCPConnection
        var decoder = FrameDecoder()
        let sender: ChunkSender
        /// Not read for now (see `holdBack`).
        var paused = false
        /// Bytes read since the last resume or verdicts.
        var burst = 0

        init(connection: TCPConnection, sender: ChunkSender) {
            self.connection = connection
            self.sender = sender
        }
    }

    public init(loop: EventLoop, configuration: Configuration, nodeID: [UInt8]) {
        self.loop = loop
        self.configuration = configuration
        self.nodeID = nodeID
        store = ChunkServer(store: configuration.root)
        gate = UploadGate(loop: loop, bytesPerSecond: configuration.uploadBytesPerSecond)
        hashing = ChunkHashQueue(loop: loop) { [weak self] verdicts in self?.deliver(verdicts) }
        let lanes = configuration.hashesOnLoop ? 1 : DiskQueue.laneCount
        let caches = (0..<lanes).map { lane in
            ChunkCache(
                root: configuration.root, checksNarHash: configuration.checksNarHash,
                maxImports: ChunkCache.defaultMaxImports / lanes, lane: lane)
        }
        disk = DiskQueue(
            loop: loop, caches: caches, store: store, inline: configuration.hashesOnLoop,
            jobDelayMicroseconds: configuration.diskJobDelayMicroseconds
        ) {
            [weak self] error in self?.fail(error)
        }
        disk.madeRoom = { [weak self] in self?.releaseVerdicts() }
    }

    /// Listens, connects to the seed, and runs until `outcome` is set (the caller runs the loop).
    public func start() {
        startedAt = loop.nowMilliseconds
        // An agent told to linger serves the wave from its disk: it joins the swarm as ever.
        let lingers = configuration.listen != nil && configuration.lingerIdleMilliseconds > 0
        if !configuration.servesOnly && !lingers && finishFromKeptManifest() { return }
        do {
            var swarm = configuration.swarm
            if let listen = configuration.listen {
                let listener = try TCPListener(loop: loop)
                let bound = try listener.listen(on: listen) { [weak self] connection in self?.accept(connection) }
                self.listener = listener
                servingAddress = bound
                swarm.listenPort = bound.port
            }
            guard let seed = PeerAddress(host: configuration.seed.host, port: configuration.seed.port) else {
                return fail("the seed address \(configuration.seed) is not an IP literal")
            }
            var seedBytes: UInt64 = 0
            for (i, b) in nodeID.prefix(8).enumerated() { seedBytes |= UInt64(b) << (8 * UInt64(i)) }
            client = SwarmClient(
                configuration: swarm, seed: seed, nodeID: nodeID, toplevel: configuration.toplevel,
                trustedKeys: configuration.trustedKeys, randomSeed: seedBytes)
            let timer = try Timer(loop: loop)
            self.timer = timer
            resumer = try Timer(loop: loop)
            timer.start(after: 250, repeat: 250) { [weak self] in self?.tick() }
            perform(client!.start(now: loop.nowMilliseconds))
        } catch {
            fail("cannot start: \(error)")
        }
    }

    private func tick() {
        guard outcome == nil, client != nil else { return }
        let now = loop.nowMilliseconds
        perform(client!.tick(now: now))
        if let done = finishedAt, outcome == nil, !configuration.servesOnly {
            let busy = links.values.contains { !$0.sender.isIdle }
            if now - done >= configuration.lingerMaxMilliseconds
                || (!busy && now - max(done, lastServed) >= configuration.lingerIdleMilliseconds)
            {
                end(.finished(report))
            }
        }
    }

    // MARK: sockets

    private func makeLink(_ connection: TCPConnection, id: Int) -> Link {
        let corrupts = configuration.corruptsUploads
        let checks = configuration.servesOnly
        let sender = ChunkSender(connection: connection, gate: gate) { [weak self] chunk in
            guard var bytes = self?.readChunk(chunk) else { return nil }
            if checks && ChunkID(of: bytes) != chunk { return nil }
            if corrupts { bytes[0] ^= 0xFF }
            return OutgoingChunk(bytes: bytes)
        }
        let link = Link(connection: connection, sender: sender)
        links[id] = link
        return link
    }

    private func accept(_ connection: TCPConnection) {
        guard client != nil, outcome == nil else { return connection.close() }
        let id = client!.newConnectionID()
        _ = makeLink(connection, id: id)
        startReading(id)
        perform(client!.accepted(id, now: loop.nowMilliseconds))
    }

    private func connect(_ id: Int, to address: PeerAddress) {
        do {
            let connection = try TCPConnection(loop: loop)
            _ = makeLink(connection, id: id)
            try connection.connect(to: SocketAddress(host: address.host, port: address.port)) { [weak self] error in
                guard let self, self.client != nil, self.outcome == nil else { return }
                let now = self.loop.nowMilliseconds
                if let error {
                    self.links.removeValue(forKey: id)?.sender.close()
                    return self.perform(self.client!.connectFailed(id, reason: "\(error)", now: now))
                }
                self.startReading(id)
                self.perform(self.client!.connected(id, now: now))
            }
        } catch {
            links.removeValue(forKey: id)?.connection.close()
            perform(client!.connectFailed(id, reason: "\(error)", now: loop.nowMilliseconds))
        }
    }

    private func startReading(_ id: Int) {
        guard let link = links[id] else { return }
        do {
            try link.connection.startReading(
                onData: { [weak self] bytes in self?.received(bytes, on: id) },
                onEnd: { [weak self] _ in
                    guard let self, self.client != nil, self.outcome == nil else { return }
                    self.links.removeValue(forKey: id)?.sender.close()
                    self.perform(self.client!.closed(id, now: self.loop.nowMilliseconds))
                })
        } catch {
            links.removeValue(forKey: id)?.connection.close()
            perform(client!.closed(id, now: loop.nowMilliseconds))
        }
    }

    private func received(_ bytes: UnsafeRawBufferPointer, on id: Int) {
        batched { receivedFrames(bytes, on: id) }
    }

    private func receivedFrames(_ bytes: UnsafeRawBufferPointer, on id: Int) {
        guard let link = links[id] else { return }
        link.decoder.append(bytes)
        link.burst += bytes.count
        defer { holdBack(link) }
        while outcome == nil, links[id] === link {
            let now = loop.nowMilliseconds
            let message: Message?
            do { message = try link.decoder.next() } catch {
                perform(client!.malformed(id, error, now: now))
                return
            }
            guard let message else { return }
            if !configuration.hashesOnLoop, case .chunk(let chunk, let data) = message,
                let table = client!.picker?.table,
                let index = table.index(of: chunk)
            {
                // Below the bound on bytes waiting (`maxWaitingBytes`), the link asks for more at once.
                if waitingBytes < Self.maxWaitingBytes { perform(client!.chunkReceived(id, index: index, now: now)) }
                hashing.add(
                    ChunkHashQueue.Received(
                        link: id, index: index, expected: chunk, size: Int(table.sizes[index]), bytes: Array(data)))
                continue
            }
            perform(client!.received(id, message, now: now))
        }
    }

    /// Hashed chunks, in the order received, go to the client with their verdicts; while the
    /// disk queue is full they wait (and so do the requests the client would send next).
    private func deliver(_ verdicts: [ChunkHashQueue.Verdict]) {
        heldVerdicts += verdicts
        heldBytes += verdicts.reduce(0) { $0 + $1.bytes.count }
        releaseVerdicts()
    }

    /// Stops reading `link` after a burst (bytes since hashes last came back) or while its chunks
    /// outrun their hashing. libuv reads a socket up to 32 times a turn, megabytes from a fast
    /// seed, while finished hashes wait for the loop: the first verdict came 4–5 ms after its
    /// batch was hashed, the pool idle. Reading resumes next turn, once the hashes are in.
    private func holdBack(_ link: Link) {
        guard !link.paused, link.burst >= Self.burstBytes || waitingBytes >= Self.maxWaitingBytes else { return }
        link.paused = true
        link.connection.pauseReading()
        resumer?.start(after: 0) { [weak self] in self?.resumeReading() }
    }

    private func resumeReading() {
        for link in links.values { link.burst = 0 }
        guard waitingBytes < Self.maxWaitingBytes else { return }  // the next verdicts or disk room resume
        for link in links.values where link.paused {
            link.paused = false
            link.connection.resumeReading()
        }
    }

    /// Gives held verdicts to the client while the disk queue has room, then reads on if the
    /// bytes waiting allow.
    private func releaseVerdicts() {
        guard !releasing else { return }
        releasing = true
        defer { releasing = false }
        batched {
            // Taken from the front by index and dropped at once: one `removeFirst()` per verdict
            // moved the rest each time, quadratic in what a slow disk lets pile up (4 MiB of
            // tiny paths' chunks is tens of thousands of verdicts).
            var taken = 0
            defer { heldVerdicts.removeFirst(min(taken, heldVerdicts.count)) }
            while taken < heldVerdicts.count, !disk.isFull {
                guard outcome == nil, client != nil else {
                    heldVerdicts = []
                    heldBytes = 0
                    return
                }
                let v = heldVerdicts[taken]
                taken += 1
                heldBytes -= v.bytes.count
                perform(
                    client!.chunkArrived(
                        v.link, index: v.index, data: v.bytes[...], intact: v.intact, now: loop.nowMilliseconds))
            }
        }
        resumeReading()
    }

    // MARK: actions

    /// Runs `body`; the frames its actions send go out when the outermost batch ends, one write
    /// per link. A thousand small paths sent a thousand 11-byte HAVE frames, each its own syscall
    /// and loopback segment, and the seed read each on its own.
    private func batched(_ body: () -> Void) {
        batchDepth += 1
        body()
        batchDepth -= 1
        if batchDepth == 0 { flushOutbox() }
    }

    private func flushOutbox() {
        for id in outbox.keys.sorted() { flush(id) }
    }

    /// Writes what waits for link `id` (before anything else reaches its connection).
    private func flush(_ id: Int) {
        guard let frames = outbox.removeValue(forKey: id) else { return }
        links[id]?.connection.write(frames)
    }

    private func perform(_ actions: [SwarmClient.Action]) {
        batched { performEach(actions) }
    }

    private func performEach(_ actions: [SwarmClient.Action]) {
        for action in actions where outcome == nil {
            switch action {
            case .send(let id, let message):
                guard links[id] != nil else { continue }
                outbox[id, default: []] += FrameCodec.encode(message)
            case .connect(let id, let address):
                connect(id, to: address)
            case .close(let id, _):
                flush(id)
                if let link = links.removeValue(forKey: id) {
                    link.sender.close()
                    link.connection.close()
                }
            case .verified(let manifest, _):
                report.manifestMilliseconds = max(loop.nowMilliseconds - startedAt, 1)
                report.manifestFromPeer = client!.manifestFromPeer
                begin(manifest)
            case .store(_, let id, let data):
                noteFirstChunks()
                disk.add(.store(id, data))
            case .restore(let p):
                if let path = client?.manifest?.paths[p].storePath { disk.add(.restore(path)) }
            case .serve(let id, let ids):
                lastServed = loop.nowMilliseconds
                flush(id)
                links[id]?.sender.enqueue(ids)
            case .finished:
                flushOutbox()
                // The registration is written once every path is on disk; it is made now, while
                // the last paths are restored (a millisecond for a thousand paths).
                guard let manifest = client?.manifest else { break }
                let registration = configuration.servesOnly ? nil : registration(of: manifest)
                disk.whenDrained { [weak self] in self?.finish(registration: registration) }
            case .fail(let line):
                flushOutbox()
                fail(line)
            }
        }
    }

    /// Stamps the first chunk stored, and the first from a peer, for the report.
    private func noteFirstChunks() {
        let elapsed = max(loop.nowMilliseconds - startedAt, 1)
        if report.firstChunkMilliseconds == 0 { report.firstChunkMilliseconds = elapsed }
        if report.firstPeerChunkMilliseconds == 0 && client!.statistics.chunksFromPeers > 0 {
            report.firstPeerChunkMilliseconds = elapsed
        }
    }

    /// A boot of a generation the root already holds whole asks nothing of the swarm: the
    /// manifest the fetch of that generation kept (verified again, against the keys trusted now)
    /// lists the closure, and every path of it is here, whole, and not in doubt after a power
    /// cut. Anything less, and the fetch asks the seed as ever. False: it did not finish.
    private func finishFromKeptManifest() -> Bool {
        guard let file = KeptManifests.read(configuration.toplevel, in: configuration.root),
            let manifest = try? SignedManifest.decode(file[...]).verified(trustedKeys: configuration.trustedKeys),
            let top = manifest.index(of: configuration.toplevel),
            let inStore = try? FileIO.names(in: configuration.root.storeDirectory)
        else { return false }
        let closure = manifest.closure(of: top)
        let doubtful = UnsyncedMark.doubtful(in: configuration.root, store: inStore)
        let whole = closure.allSatisfy { i in
            let path = manifest.paths[i].storePath
            return inStore.contains(path.baseName) && !doubtful.contains(path.baseName)
                && configuration.root.looksWhole(path)
        }
        guard whole else { return false }
        do { rootLock = try RootLock(configuration.root) } catch {
            fail(error)
            return true
        }
        self.closure = closure
        report.paths = closure.count
        report.pathsAlreadyPresent = closure.count
        report.narBytes = closure.reduce(0) { $0 + manifest.paths[$1].narSize }
        report.manifestKept = true
        finish(registration: registration(of: manifest))
        return true
    }

    /// The manifest is trusted: skip what the root already holds, plan the rest.
    private func begin(_ manifest: Manifest) {
        guard let top = manifest.index(of: configuration.toplevel) else {
            return fail("the manifest does not contain \(configuration.toplevel)")
        }
        closure = manifest.closure(of: top)
        if !configuration.servesOnly {
            // Taken once the manifest is trusted: a refused manifest leaves the root untouched.
            do { rootLock = try RootLock(configuration.root) } catch { return fail(error) }
        }
        store.add(manifest)
        guard let table = client?.table else { return fail("the manifest has no chunk table") }
        var wanted: [Int] = []
        var present: [Int] = []
        // One listing of the store, not a stat per path of the manifest (the cache reads it too);
        // a stat for each path found, whose tree may have been cut short by Nix. After a fetch
        // in an earlier boot that may not have reached the disk (a power cut since), each is
        // checked whole.
        var inStore: Set<String>
        do { inStore = try FileIO.names(in: configuration.root.storeDirectory) } catch { return fail(error) }
        let doubtful = configuration.servesOnly ? [] : UnsyncedMark.doubtful(in: configuration.root, store: inStore)
        func whole(_ p: Int) -> Bool {
            let path = manifest.paths[p]
            guard inStore.contains(path.storePath.baseName), configuration.root.looksWhole(path.storePath) else {
                return false
            }
            return !doubtful.contains(path.storePath.baseName)
                || configuration.root.narMatches(path.storePath, sha256: path.narHash, size: path.narSize)
        }
        for i in closure {
            report.narBytes += manifest.paths[i].narSize
            let path = manifest.paths[i].storePath
            if whole(i) {
                present.append(i)
            } else if !configuration.servesOnly {
                if inStore.contains(path.baseName) {
                    // Partial: fetched as missing, with what in it matches its chunks.
                    do { try ChunkCache.setAside(path, root: configuration.root) } catch { return fail(error) }
                    inStore.remove(path.baseName)
                    inStore.insert(ChunkCache.stagingFolders)
                    report.pathsIncomplete += 1
                }
                wanted.append(i)
            }
        }
        // Other paths of the manifest that happen to be here are served too (not when they would
        // need reading whole first).
        let closureSet = Set(closure)
        for i in manifest.paths.indices where !closureSet.contains(i) {
            if !doubtful.contains(manifest.paths[i].storePath.baseName) && whole(i) { present.append(i) }
        }
        if configuration.servesOnly {
            report.paths = present.count
            report.pathsAlreadyPresent = present.count
            return perform(
                client!.plan(wantedPaths: [], holding: table.chunks(ofPaths: present), now: loop.nowMilliseconds))
        }
        report.paths = closure.count
        report.pathsAlreadyPresent = closure.count - wanted.count
        do {
            try configuration.root.createStoreDirectory()
            let cached = try disk.plan(manifest, paths: wanted, storeNames: inStore)
            report.chunksReused = cached.count
            // What the missing paths need on disk, less what a stopped fetch left of them.
            let needed = wanted.reduce(UInt64(0)) { $0 + manifest.paths[$1].narSize }
            let onDisk = table.bytes(of: cached.compactMap { table.index(of: $0) })
            let space = try FreeSpace(of: configuration.root.storeDirectory)
            if let line = space.shortfall(
                needed: needed > onDisk ? needed - onDisk : 0, paths: wanted.count, root: configuration.root.root)
            {
                return fail(line)
            }
            // Before anything is renamed into the store (the disk jobs that follow the plan).
            if !wanted.isEmpty {
                try UnsyncedMark.record(wanted.map { manifest.paths[$0].storePath.baseName }, in: configuration.root)
            }
            // The closure's paths in doubt are checked now (or set aside, and listed by this boot).
            try UnsyncedMark.resolve(
                doubtful.intersection(closure.map { manifest.paths[$0].storePath.baseName }), in: configuration.root)
            var holding = table.chunks(ofPaths: present)
            // A chunk a wanted path shares with a path already here is not fetched: the restore
            // takes it from that path's file. Checked now against its signed id, as every chunk that
            // reaches a new path is: an altered file on this disk is fetched from the swarm instead.
            for i in table.chunks(ofPaths: wanted).intersection(holding) where !disk.storeHoldsIntact(table.ids[i]) {
                holding.remove(i)
            }
            for id in cached { if let i = table.index(of: id) { holding.insert(i) } }
            // The checks above may have read gigabytes (a resumed fetch's cache, the paths after a
            // power cut) while the loop's clock stood still: the plan starts the idle timeout.
            loop.updateTime()
            perform(client!.plan(wantedPaths: wanted, holding: holding, now: loop.nowMilliseconds))
        } catch {
            fail(error)
        }
    }

    private func readChunk(_ id: ChunkID) -> [UInt8]? { disk.read(id) }

    /// What `nix-store --load-db` reads: every path of the closure.
    private func registration(of manifest: Manifest) -> String {
        Registration.render(closure.map { manifest.pathInfo($0) })
    }

    /// Every path is on disk: writes the registration (nil when the node only serves).
    private func finish(registration: String?) {
        guard let registration else {
            finishedAt = loop.nowMilliseconds
            whenServing?(report)
            return
        }
        do {
            let path = configuration.registrationPath
            if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
                try FileIO.createDirectories(String(path[..<slash]))
            }
            // Atomic but not fsynced: every run writes it anew for the whole closure, and only this
            // boot's stage 2 reads it, so after a crash the next boot's agent writes it again. The
            // fsync committed the journal with every restored path's metadata in it: 4 ms for
            // 1000 paths on a RAM disk, 0.4 ms for one, and more on a real disk.
            try FileIO.writeAtomically(path, Array(registration.utf8), durable: false)
        } catch {
            return fail(error)
        }
        if let client {
            // For the next boot of this generation; a copy not kept costs it only asking the seed.
            if let file = client.manifestFile {
                try? KeptManifests.keep(file, toplevel: configuration.toplevel, in: configuration.root)
            }
            report.swarm = client.statistics
            report.peerLinks = client.peerLinkCount
        }
        finishedAt = loop.nowMilliseconds
        if listener == nil || configuration.lingerIdleMilliseconds == 0 { end(.finished(report)) }
    }

    /// A disk full (or out of inodes) at any step gets the line that says so and how to make room.
    private func fail(_ error: any Error) {
        fail((error as? StoreError).flatMap { FreeSpace.ranOut($0, root: configuration.root.root) } ?? "\(error)")
    }

    private func fail(_ line: String) {
        end(.failed(line))
    }

    /// Stops now: a finished fetch that is only serving ends as finished, any other as failed.
    public func interrupt(_ reason: String) {
        end(finishedAt != nil ? .finished(report) : .failed(reason))
    }

    private func end(_ result: Outcome) {
        guard outcome == nil else { return }
        if let client { report.swarm = client.statistics }
        report.peakResidentKiB = ProcessStatus.peakResidentKiB
        if case .finished = result, !configuration.servesOnly {
            // Every path is in the store and serves its chunks from there: what is left in the
            // chunk cache and the staging folders (a crashed fetch's, of any closure) goes.
            ChunkCache.removeAll(root: configuration.root)
        }
        if case .finished = result { outcome = .finished(report) } else { outcome = result }
        timer?.close()
        timer = nil
        resumer?.close()
        resumer = nil
        hashing.close()
        disk.close()
        listener?.close()
        listener = nil
        gate.close()
        rootLock = nil
        for link in links.values {
            link.sender.close()
            link.connection.close()
        }
        links = [:]
        let ended = whenEnded
        whenEnded = nil
        ended?()
    }
}
