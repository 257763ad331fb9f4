// A fetching node of the swarm (the initrd agent, `rookery fetch`), for all its connections at
// once, as a pure state machine. It trusts only the manifest signed by raven: the seed link
// (handshake, manifest, tracker, REQUEST_ANY) and peer links (HELLO, BITFIELD, HAVE, REQUEST,
// CHUNK) are driven by events with the time as an input; it answers with actions that the
// runtime (or the simulation) performs. Every chunk is verified before it is stored or served.
import NixFormats
import Sodium

public struct SwarmClient: Sendable {
    public typealias ConnectionID = Int

    public struct Configuration: Sendable {
        /// Peer connections this node opens; more may come in, up to `maxConnections`.
        /// Few links, and few more accepted than opened: the nodes that join first would otherwise
        /// collect everyone's connections while the last to join get only their own, and an
        /// uplink shared by 24 requesters spreads each chunk slowly (simulated, 3 random seeds:
        /// 10 / 24 gave N = 200 1.45–1.58 × T_min, 8 / 12 1.32–1.37; N = 1000 1.65 → 1.37).
        public var maxOutgoing = 8
        public var maxConnections = 12
        /// Bytes asked of one peer and not yet received: one default chunk. A chunk waits at a
        /// peer's uplink behind what its other requesters asked for, at every hop it crosses, so
        /// shallow queues spread the last chunks sooner (simulated N = 200: 256 KiB 1.26–1.28 ×
        /// T_min, 128 KiB 1.19–1.20, with 128 KiB chunks); the node's other links keep its
        /// downlink busy meanwhile.
        public var peerBudgetBytes: UInt64 = 128 << 10
        /// The same for the seed's REQUEST_ANY: enough to keep a lone fetch's pipe full while
        /// received chunks wait for their hash on another thread (512 KiB left a 512 MiB fetch
        /// on loopback a third slower). While peers exist, the seed's own cap on bytes in
        /// flight decides (SeedScheduler).
        public var seedBudgetBytes: UInt64 = 2 << 20
        public var maxChunksPerRequest = 64
        public var initialRandom = 4
        public var endgameCopies = 2
        /// A connection with requests open that delivers nothing this long loses them; twice: closed.
        public var stallMilliseconds: UInt64 = 4000
        /// With no chunk from anyone this long, chunks no peer holds are asked of the seed by id.
        public var fallbackMilliseconds: UInt64 = 2000
        public var announceMilliseconds: UInt64 = 3000
        /// After an empty OFFER, ask the seed again this much later.
        public var seedRetryMilliseconds: UInt64 = 250
        public var handshakeMilliseconds: UInt64 = 10_000
        /// Ask the seed with peers welcome: it may name members to fetch the manifest from.
        public var manifestFromPeers = true
        /// A peer named for the manifest that has not given it this long is given up on.
        public var manifestPeerMilliseconds: UInt64 = 1000
        /// Newcomers a full node keeps on probation at once, and for how long at most.
        public var maxProbation = 4
        public var probationMilliseconds: UInt64 = 5000
        /// No progress and no seed for this long: give up.
        public var idleMilliseconds: UInt64 = 30_000
        public var listenPort: UInt16 = 0

        public init() {}
    }

    public enum Action: Equatable, Sendable {
        case send(ConnectionID, Message)
        case connect(ConnectionID, PeerAddress)
        case close(ConnectionID, reason: String)
        /// The manifest is trusted: the driver looks at its disk and calls `plan`.
        case verified(Manifest, Digest256)
        /// A verified chunk: write it.
        case store(Int, ChunkID, ArraySlice<UInt8>)
        /// Every chunk of manifest path `index` is stored: restore it.
        case restore(Int)
        /// Send these chunks (all held) to the connection.
        case serve(ConnectionID, [ChunkID])
        /// Every wanted path is restored: write the registration. Serving goes on.
        case finished
        case fail(String)
    }

    public struct Statistics: Sendable, Equatable {
        public var chunksFromSeed = 0
        public var chunksFromPeers = 0
        public var bytesFromSeed: UInt64 = 0
        public var bytesFromPeers: UInt64 = 0
        public var duplicateChunks = 0
        public var chunksServed = 0
        public var bytesServed: UInt64 = 0
        public var peersBanned = 0
        public var stalls = 0

        public init() {}
    }

    struct Link: Sendable {
        let isSeed: Bool
        let outgoing: Bool
        var address: PeerAddress?
        var nodeID: [UInt8]?
        /// Peer links: their BITFIELD arrived (for the seed: the manifest is verified).
        var bits: Bitfield?
        var connected = false
        /// Chunk index → when it was asked for.
        var asked: [Int: UInt64] = [:]
        var askedBytes: UInt64 = 0
        /// Asked chunks whose bytes arrived and wait for their hash: still asked (nobody else is
        /// asked for them), no longer counted in `askedBytes`.
        var received: Set<Int> = []
        var waitingSince: UInt64
        var strikes = 0
        var awaitingOffer = false
        var retryAt: UInt64 = 0
        /// Opened only to fetch the manifest from a peer the seed named; closed once it came.
        var forManifest = false
        /// Accepted while full: it may ask for the manifest; as a peer it needs room (`admit`).
        var onProbation = false
    }

    public let configuration: Configuration
    let seedAddress: PeerAddress
    let hello: Hello
    let trustedKeys: [NixPublicKey]
    let selector: ManifestSelector
    private var rng: SplitMix64
    private var session: ClientSession
    private var links: [ConnectionID: Link] = [:]
    private var nextID = 1
    private var seedLink: ConnectionID?
    private var seedDownSince: UInt64?
    private var seedRetries = 0

    public private(set) var manifest: Manifest?
    public private(set) var manifestID: Digest256?
    /// The manifest's chunks, made once it is trusted (the driver plans its disk with it too).
    public private(set) var table: ChunkTable?
    /// The signed manifest as received: served to peers that ask for it, and kept in the root
    /// once the fetch is done.
    public private(set) var manifestFile: [UInt8]?
    /// It came from a peer the seed named.
    public private(set) var manifestFromPeer = false
    /// Changed where it is stored, never in a copy written back (nor are the links): the copy
    /// would copy its per-chunk arrays at the first change, O(chunks) for every chunk that
    /// arrives (`rookery simulate`, one client, 4 GiB in 64 KiB chunks: 1.90 s, then 0.50 s).
    public private(set) var picker: ChunkPicker?
    private var pathMissing: [Int] = []
    private var pathsOfChunk: [[Int]] = []
    private var knownPeers: [PeerEntry] = []
    /// Members the seed named for the manifest, not tried yet.
    private var manifestSources: [PeerEntry] = []
    private var failedAt: [PeerAddress: UInt64] = [:]
    private var banned: Set<[UInt8]> = []
    private var bannedAddresses: Set<PeerAddress> = []
    private var lastProgress: UInt64 = 0
    private var nextAnnounce: UInt64 = 0
    public private(set) var isFinished = false
    public private(set) var isFailed = false
    public private(set) var statistics = Statistics()
    /// Peer links whose BITFIELD arrived: the peers this node trades with now.
    public var peerLinkCount: Int { links.values.filter { !$0.isSeed && $0.bits != nil }.count }

    public init(
        configuration: Configuration, seed: PeerAddress, nodeID: [UInt8], toplevel: StorePath,
        trustedKeys: [NixPublicKey], randomSeed: UInt64
    ) {
        self.configuration = configuration
        seedAddress = seed
        hello = Hello(role: .agent, nodeID: nodeID, listenPort: configuration.listenPort)
        self.trustedKeys = trustedKeys
        selector = .toplevel(toplevel)
        rng = SplitMix64(seed: randomSeed)
        session = ClientSession(
            hello: hello, selector: selector, trustedKeys: trustedKeys, peersWelcome: configuration.manifestFromPeers)
    }

    // MARK: events

    /// Opens the seed connection.
    public mutating func start(now: UInt64) -> [Action] {
        lastProgress = now
        return openSeed(now: now)
    }

    /// An id for a connection the driver accepted (then call `accepted`).
    public mutating func newConnectionID() -> ConnectionID {
        defer { nextID += 1 }
        return nextID
    }

    public mutating func connected(_ id: ConnectionID, now: UInt64) -> [Action] {
        guard var link = links[id] else { return [] }
        link.connected = true
        link.waitingSince = now
        links[id] = link
        if link.isSeed {
            seedRetries = 0
            return session.connected().map { translate($0, on: id, now: now) }.flatMap { $0 }
        }
        if link.forManifest, let named = session.namedID {
            return [.send(id, .hello(hello)), .send(id, .getManifest(.id(named), peersWelcome: false))]
        }
        return greet(id)
    }

    public mutating func connectFailed(_ id: ConnectionID, reason: String, now: UInt64) -> [Action] {
        guard let link = links.removeValue(forKey: id) else { return [] }
        if link.isSeed {
            seedLink = nil
            if manifest == nil { return fail("cannot reach the seed at \(seedAddress): \(reason)") }
            seedDownSince = seedDownSince ?? now
            return []
        }
        if let a = link.address { failedAt[a] = now }
        return link.forManifest ? nextManifestSource(now: now) : []
    }

    /// A peer connected to this node.
    public mutating func accepted(_ id: ConnectionID, now: UInt64) -> [Action] {
        guard picker != nil, !isFailed else { return [.close(id, reason: "not serving yet")] }
        let probation = links.values.filter(\.onProbation).count
        if links.count - probation >= configuration.maxConnections + 1 {
            // Full. The newcomer may want only the manifest (the seed named this node to it), or
            // be a peer: it stays on probation (HELLO only) until its first request says which.
            guard probation < configuration.maxProbation else { return [.close(id, reason: "too many connections")] }
            links[id] = Link(isSeed: false, outgoing: false, connected: true, waitingSince: now, onProbation: true)
            return [.send(id, .hello(hello))]
        }
        links[id] = Link(isSeed: false, outgoing: false, connected: true, waitingSince: now)
        return greet(id)
    }

    /// A newcomer on probation sent its BITFIELD: it is a peer. In a small swarm a node that
    /// joins late finds every node it dials full and stays with few links, so its share of its
    /// peers' uplinks is small and it finishes last (emulated N = 16: 6-7 links, 1 s after the
    /// others). Room is made by dropping one of the links this node opened (it keeps at least
    /// half its quota): a link moves from a node that has its share towards one that may not. In
    /// a larger swarm the newcomer has free nodes to dial, and the churn cost more than it gave
    /// (simulated N = 200: 1.19 -> 1.24 x T_min). False: no room, it is closed.
    private mutating func admit(_ id: ConnectionID, now: UInt64) -> (Bool, [Action]) {
        let probation = links.values.filter(\.onProbation).count
        var actions: [Action] = []
        if links.count - probation >= configuration.maxConnections + 1 {
            guard let victim = roomForNewcomer() else {
                return (false, drop(id, reason: "too many connections", now: now))
            }
            actions += drop(victim, reason: "making room for a newcomer", now: now)
        }
        links[id]?.onProbation = false
        if let picker, let manifestID { actions.append(.send(id, .bitfield(manifest: manifestID, picker.have))) }
        return (true, actions)
    }

    /// The link this node opened that it gives up for a newcomer: the one with the fewest bytes
    /// asked (the newest among equals), while it has opened more than half its quota.
    private func roomForNewcomer() -> ConnectionID? {
        guard knownPeers.count < configuration.maxConnections + configuration.maxOutgoing else { return nil }
        let opened = links.filter { !$0.value.isSeed && $0.value.outgoing && $0.value.connected }
        guard opened.count > configuration.maxOutgoing / 2 else { return nil }
        return opened.min { ($0.value.askedBytes, -$0.key) < ($1.value.askedBytes, -$1.key) }?.key
    }

    /// The connection ended (either side, any reason).
    public mutating func closed(_ id: ConnectionID, now: UInt64) -> [Action] {
        guard let link = links.removeValue(forKey: id) else { return [] }
        if link.forManifest { return nextManifestSource(now: now) }
        release(link)
        if let bits = link.bits, !link.isSeed { picker?.peerLeft(bits) }
        // A peer that hung up (full, or gone) is not dialled again at once.
        if link.outgoing, !link.isSeed, let a = link.address { failedAt[a] = now }
        if link.isSeed {
            seedLink = nil
            if manifest == nil && !isFailed { return fail("the seed closed the connection") }
            seedDownSince = seedDownSince ?? now
            return []
        }
        return isFinished ? [] : connectPeers(now: now) + fillAll(now: now)
    }

    public mutating func malformed(_ id: ConnectionID, _ error: WireError, now: UInt64) -> [Action] {
        guard let link = links[id] else { return [] }
        if link.isSeed && manifest == nil {
            // Its HTTP face (binary cache, boot menus) is the address an admin has at hand.
            if error == .httpAnswer {
                return fail(
                    "the seed's address answers in HTTP: that is its HTTP face, the chunk port is its --listen (7020 by default)"
                )
            }
            return fail("protocol violation: \(error)")
        }
        return drop(id, reason: "protocol violation: \(error)", now: now)
    }

    public mutating func received(_ id: ConnectionID, _ message: Message, now: UInt64) -> [Action] {
        guard let link = links[id], !isFailed else { return [] }
        if link.isSeed && session.state != .transferring {
            return session.received(message).flatMap { translate($0, on: id, now: now) }
        }
        if link.forManifest { return manifestLinkMessage(id, message, now: now) }
        switch message {
        case .chunk(let chunk, let data):
            guard let index = picker?.table.index(of: chunk) else {
                return unexpected(id, "CHUNK \(chunk), which is not in the manifest", now: now)
            }
            return chunkArrived(id, index: index, data: data, intact: picker!.table.verify(index, data), now: now)
        case .ping(let nonce):
            return [.send(id, .pong(nonce))]
        case .pong:
            return []
        default:
            return link.isSeed ? seedMessage(id, message, now: now) : peerMessage(id, message, now: now)
        }
    }

    /// A chunk's bytes arrived and are being hashed elsewhere (`chunkArrived` follows with the
    /// verdict): they stop counting against the link's budget, so its next request goes out now
    /// instead of after the hash. Waiting hashes are the caller's to bound.
    public mutating func chunkReceived(_ id: ConnectionID, index: Int, now: UInt64) -> [Action] {
        guard let table = picker?.table, links[id]?.asked[index] != nil, links[id]!.received.insert(index).inserted
        else { return [] }
        links[id]!.askedBytes -= UInt64(table.sizes[index])
        links[id]!.waitingSince = now
        return fill(id, now: now)
    }

    /// A chunk arrived whose check the caller already made (`intact`); the simulation, which
    /// moves no bytes, calls this directly.
    public mutating func chunkArrived(
        _ id: ConnectionID, index: Int, data: ArraySlice<UInt8>, intact: Bool, now: UInt64
    ) -> [Action] {
        guard let isSeed = links[id]?.isSeed, let table = picker?.table else { return [] }
        let size = UInt64(table.sizes[index])
        // A chunk asked for and given up on (a stall) may still come: it is as good, verified.
        if links[id]!.asked.removeValue(forKey: index) != nil {
            if links[id]!.received.remove(index) == nil { links[id]!.askedBytes -= size }
            picker!.released(index)
        }
        links[id]!.waitingSince = now
        links[id]!.strikes = 0
        guard intact else {
            if isSeed {
                return fail(
                    "the seed sent bytes that do not match \(describe(table.ids[index])); nothing was written "
                        + "(raven's copy of that path changed since it was published: nix-store --verify "
                        + "--check-contents there)")
            }
            return ban(id, now: now)
        }
        lastProgress = now
        var actions: [Action] = []
        if picker!.arrived(index) {
            if isSeed {
                statistics.chunksFromSeed += 1
                statistics.bytesFromSeed += size
            } else {
                statistics.chunksFromPeers += 1
                statistics.bytesFromPeers += size
            }
            actions.append(.store(index, table.ids[index], data))
            for p in pathsOfChunk[index] {
                pathMissing[p] -= 1
                if pathMissing[p] == 0 { actions.append(.restore(p)) }
            }
            // Every peer link got our BITFIELD when it connected (greet), so it hears of the new
            // chunk even before its HELLO is in: waiting for the HELLO lost the HAVE of a chunk
            // that came in between, and the peer never asked this node for it.
            for other in links.keys.sorted() {
                let l = links[other]!
                if l.connected && !l.onProbation && (!l.isSeed || l.bits != nil) {
                    actions.append(.send(other, .have([UInt32(index)])))
                }
            }
        } else {
            statistics.duplicateChunks += 1
        }
        if picker!.isComplete && !isFinished {
            isFinished = true
            actions.append(.finished)
        }
        return actions + fill(id, now: now)
    }

    /// Timeouts, announces, fallback to the seed, reconnects.
    public mutating func tick(now: UInt64) -> [Action] {
        guard !isFailed else { return [] }
        var actions: [Action] = []
        if manifest == nil {
            if now - lastProgress > configuration.handshakeMilliseconds {
                return fail(
                    "the seed at \(seedAddress) did not answer for \(configuration.handshakeMilliseconds / 1000) s")
            }
            let slow = links.filter {
                $0.value.forManifest && now - $0.value.waitingSince > configuration.manifestPeerMilliseconds
            }
            return slow.keys.sorted().flatMap { drop($0, reason: "no manifest in time", now: now) }
        }
        for id in links.keys.sorted()
        where links[id]!.onProbation && now - links[id]!.waitingSince > configuration.probationMilliseconds {
            actions += drop(id, reason: "too many connections", now: now)
        }
        // A link with open requests that delivers nothing gives them back; twice in a row: closed.
        for id in links.keys.sorted() {
            guard let link = links[id], !link.asked.isEmpty, now - link.waitingSince > configuration.stallMilliseconds
            else { continue }
            statistics.stalls += 1
            var l = link
            release(l)
            l.asked = [:]
            l.askedBytes = 0
            l.received = []
            l.awaitingOffer = false
            l.strikes += 1
            l.waitingSince = now
            links[id] = l
            if l.strikes >= 2 && !l.isSeed { actions += drop(id, reason: "stalled", now: now) }
        }
        if !isFinished && now - lastProgress > configuration.idleMilliseconds {
            return fail(
                "no progress for \(configuration.idleMilliseconds / 1000) s (the seed at \(seedAddress) is unreachable)"
            )
        }
        // A finished node that still serves rejoins too, so that the seed lists it again.
        if seedLink == nil, let down = seedDownSince {
            // Reconnect with backoff: 0.5 s, 1 s, 2 s, then every 4 s.
            let wait = UInt64(500) << UInt64(min(seedRetries, 3))
            if now - down >= wait {
                seedRetries += 1
                seedDownSince = now
                actions += openSeed(now: now)
            }
        }
        if isFinished { return actions }
        if now >= nextAnnounce, let s = seedLink, links[s]?.bits != nil {
            nextAnnounce = now + configuration.announceMilliseconds
            actions.append(.send(s, .getPeers(50)))
        }
        actions += fallback(now: now)
        actions += fillAll(now: now)
        return actions
    }

    /// The manifest is trusted; `wantedPaths` are the manifest paths to fetch, `holding` the
    /// chunk-table indices already on this node's disk (verified), which it can serve.
    public mutating func plan(wantedPaths: [Int], holding: Set<Int>, now: UInt64) -> [Action] {
        guard let manifest, let table, picker == nil else { return [] }
        var wanted = Bitfield(count: table.count)
        var have = Bitfield(count: table.count)
        for i in holding where i < table.count { have.insert(i) }
        pathMissing = [Int](repeating: 0, count: manifest.paths.count)
        pathsOfChunk = [[Int]](repeating: [], count: table.count)
        var actions: [Action] = []
        for p in wantedPaths {
            for i in table.pathChunks[p] {
                wanted.insert(i)
                pathsOfChunk[i].append(p)
                if !have[i] { pathMissing[p] += 1 }
            }
            if pathMissing[p] == 0 { actions.append(.restore(p)) }
        }
        var picker = ChunkPicker(table: table, wanted: wanted, have: have)
        picker.initialRandom = configuration.initialRandom
        picker.endgameCopies = configuration.endgameCopies
        self.picker = picker
        lastProgress = now
        if picker.isComplete {
            isFinished = true
            actions.append(.finished)
        }
        return actions + joinSeed(now: now)
    }

    // MARK: the seed link

    private mutating func openSeed(now: UInt64) -> [Action] {
        let id = newConnectionID()
        links[id] = Link(isSeed: true, outgoing: true, address: seedAddress, waitingSince: now)
        seedLink = id
        if manifestID != nil {
            // A reconnect: the same manifest, by id.
            session = ClientSession(hello: hello, selector: .id(manifestID!), trustedKeys: trustedKeys)
        }
        return [.connect(id, seedAddress)]
    }

    private mutating func translate(_ action: ClientSession.Action, on id: ConnectionID, now: UInt64) -> [Action] {
        switch action {
        case .send(let m): return [.send(id, m)]
        case .fail(let line): return fail(line)
        case .verified(let m, let mid):
            if let known = manifestID {
                // Reconnected: it must be the manifest this fetch started with.
                guard known == mid else { return fail("the seed now serves a different manifest") }
                seedDownSince = nil
                return joinSeed(now: now)
            }
            manifest = m
            manifestID = mid
            table = ChunkTable(manifest: m)
            manifestFile = session.file
            // A manifest link still open (the seed answered meanwhile) has done its job.
            let spare = links.filter { $0.value.forManifest }.keys.sorted()
            for c in spare { links[c] = nil }
            return spare.map { .close($0, reason: "manifest arrived") } + [.verified(m, mid)]
        case .manifestAt(_, let peers):
            lastProgress = now
            manifestSources = peers.filter {
                $0.nodeID != hello.nodeID && !banned.contains($0.nodeID) && !bannedAddresses.contains($0.address)
            }
            return nextManifestSource(now: now)
        case .chunk(let chunk, let data):
            guard let index = picker?.table.index(of: chunk) else { return [] }
            return chunkArrived(id, index: index, data: data, intact: picker!.table.verify(index, data), now: now)
        case .missing:
            return []
        }
    }

    /// Announce what this node holds and ask for peers and chunks.
    private mutating func joinSeed(now: UInt64) -> [Action] {
        guard let s = seedLink, var link = links[s], let picker, let manifestID, session.state == .transferring else {
            return []
        }
        link.bits = Bitfield.full(count: picker.table.count)
        links[s] = link
        nextAnnounce = now + configuration.announceMilliseconds
        var actions: [Action] = [.send(s, .bitfield(manifest: manifestID, picker.have))]
        if !isFinished { actions.append(.send(s, .getPeers(50))) }
        return actions + fill(s, now: now)
    }

    private mutating func seedMessage(_ id: ConnectionID, _ message: Message, now: UInt64) -> [Action] {
        switch message {
        case .peers(let entries):
            knownPeers = entries
            return connectPeers(now: now)
        case .offer(let indices):
            guard links[id] != nil, let table = picker?.table else { return [] }
            links[id]!.awaitingOffer = false
            if links[id]!.asked.isEmpty { links[id]!.waitingSince = now }
            if indices.isEmpty { links[id]!.retryAt = now + configuration.seedRetryMilliseconds }
            for i in indices {
                let index = Int(i)
                guard index < table.count else { return fail("protocol violation: OFFER of chunk \(i)") }
                if links[id]!.asked[index] == nil {
                    links[id]!.asked[index] = now
                    links[id]!.askedBytes += UInt64(table.sizes[index])
                    picker!.requested(index)
                }
            }
            return []
        case .missing(let chunk):
            return fail("the seed does not have \(describe(chunk))")
        case .error(let code, let text):
            return fail("seed reported \(code): \(text)")
        case .request(let ids):
            return serve(id, ids)
        default:
            return fail("protocol violation: unexpected \(message.type) from the seed")
        }
    }

    // MARK: the manifest from peers

    /// Dials the next member the seed named for the manifest; when none is left, asks the seed.
    private mutating func nextManifestSource(now: UInt64) -> [Action] {
        guard manifest == nil, !isFailed else { return [] }
        while !manifestSources.isEmpty {
            let entry = manifestSources.removeFirst()
            if links.values.contains(where: { $0.address == entry.address }) { continue }
            let id = newConnectionID()
            links[id] = Link(
                isSeed: false, outgoing: true, address: entry.address, nodeID: nil, waitingSince: now, forManifest: true
            )
            return [.connect(id, entry.address)]
        }
        guard let s = seedLink else { return [] }
        return session.askSeedByID().flatMap { translate($0, on: s, now: now) }
    }

    private mutating func manifestLinkMessage(_ id: ConnectionID, _ message: Message, now: UInt64) -> [Action] {
        switch message {
        case .manifest(let file):
            guard manifest == nil, let s = seedLink, let verified = session.fromPeer(file) else {
                return drop(id, reason: "manifest refused", now: now)
            }
            manifestFromPeer = true
            return translate(verified, on: s, now: now)
        case .hello, .bitfield, .have, .ping, .pong:
            return []  // a link for the manifest only: the rest is for regular peers
        default:
            return drop(id, reason: "no manifest", now: now)
        }
    }

    // MARK: peer links

    private mutating func greet(_ id: ConnectionID) -> [Action] {
        var actions: [Action] = [.send(id, .hello(hello))]
        if let picker, let manifestID { actions.append(.send(id, .bitfield(manifest: manifestID, picker.have))) }
        return actions
    }

    private mutating func peerMessage(_ id: ConnectionID, _ message: Message, now: UInt64) -> [Action] {
        // The link is read and changed where it is stored (see `picker`).
        guard links[id] != nil, let table = picker?.table else { return [] }
        if links[id]!.onProbation {
            switch message {
            case .hello, .getManifest, .bitfield: break
            default: return drop(id, reason: "too many connections", now: now)
            }
        }
        switch message {
        case .hello(let theirs):
            guard links[id]!.nodeID == nil, theirs.version == Hello.currentVersion else {
                return drop(id, reason: "bad HELLO", now: now)
            }
            guard theirs.nodeID != hello.nodeID, !banned.contains(theirs.nodeID) else {
                return drop(id, reason: "self or banned", now: now)
            }
            if links[id]!.onProbation {
                links[id]!.nodeID = theirs.nodeID
                return []
            }
            // Two links to one node (both dialled at once): keep the one the smaller id opened.
            if let (other, _) = links.first(where: { $0.key != id && $0.value.nodeID == theirs.nodeID }) {
                let mine = hello.nodeID
                let opener = { (l: Link) in l.outgoing ? mine : theirs.nodeID }
                guard opener(links[id]!).lexicographicallyPrecedes(opener(links[other]!)) else {
                    return drop(id, reason: "duplicate link", now: now)
                }
                links[id]!.nodeID = theirs.nodeID
                return drop(other, reason: "duplicate link", now: now)
            }
            links[id]!.nodeID = theirs.nodeID
            return []
        case .bitfield(let mid, let bits):
            guard links[id]!.nodeID != nil, links[id]!.bits == nil, mid == manifestID, bits.count == table.count else {
                return drop(id, reason: "BITFIELD for another manifest or out of order", now: now)
            }
            var admitted: [Action] = []
            if links[id]!.onProbation {
                let (ok, actions) = admit(id, now: now)
                guard ok, links[id] != nil else { return actions }
                admitted = actions
            }
            links[id]!.bits = bits
            picker!.peerHolds(bits)
            return admitted + fill(id, now: now)
        case .have(let indices):
            guard let count = links[id]!.bits?.count else { return drop(id, reason: "HAVE before BITFIELD", now: now) }
            for i in indices {
                guard Int(i) < count else { return drop(id, reason: "HAVE out of range", now: now) }
                if links[id]!.bits!.insert(Int(i)) { picker!.peerHolds(Int(i)) }
            }
            return fill(id, now: now)
        case .request(let ids):
            guard links[id]!.bits != nil else { return drop(id, reason: "REQUEST before BITFIELD", now: now) }
            return serve(id, ids)
        case .getManifest(let selector, _):
            // A newcomer the seed sent here: this node verified the manifest and keeps its bytes.
            guard let manifestFile, let manifestID, selector == .id(manifestID) else {
                return [.send(id, .error(.notFound, "no such manifest"))]
            }
            return [.send(id, .manifest(manifestFile))]
        case .missing(let chunk):
            // The peer no longer serves it (its cache was cleared): ask elsewhere.
            guard let index = table.index(of: chunk), links[id]!.asked.removeValue(forKey: index) != nil else {
                return []
            }
            if links[id]!.received.remove(index) == nil { links[id]!.askedBytes -= UInt64(table.sizes[index]) }
            if links[id]!.bits?.remove(index) == true { picker!.peerLost(index) }
            picker!.released(index)
            return fillAll(now: now)
        case .error:
            return drop(id, reason: "peer reported an error", now: now)
        default:
            return drop(id, reason: "unexpected \(message.type)", now: now)
        }
    }

    private mutating func serve(_ id: ConnectionID, _ ids: [ChunkID]) -> [Action] {
        guard let picker else { return [] }
        var held: [ChunkID] = []
        var actions: [Action] = []
        for chunk in ids {
            if let i = picker.table.index(of: chunk), picker.have[i] {
                held.append(chunk)
                statistics.chunksServed += 1
                statistics.bytesServed += UInt64(picker.table.sizes[i])
            } else {
                actions.append(.send(id, .missing(chunk)))
            }
        }
        if !held.isEmpty { actions.insert(.serve(id, held), at: 0) }
        return actions
    }

    /// Connects to known peers, completed ones first, within the connection caps.
    private mutating func connectPeers(now: UInt64) -> [Action] {
        guard !isFinished, picker != nil else { return [] }
        var outgoing = links.values.filter { !$0.isSeed && $0.outgoing }.count
        var actions: [Action] = []
        for entry in knownPeers {
            guard outgoing < configuration.maxOutgoing, links.count <= configuration.maxConnections else { break }
            if entry.nodeID == hello.nodeID || banned.contains(entry.nodeID) || bannedAddresses.contains(entry.address)
            {
                continue
            }
            if let t = failedAt[entry.address], now - t < 5000 { continue }
            if links.values.contains(where: { $0.nodeID == entry.nodeID || $0.address == entry.address }) { continue }
            let id = newConnectionID()
            links[id] = Link(isSeed: false, outgoing: true, address: entry.address, nodeID: nil, waitingSince: now)
            outgoing += 1
            actions.append(.connect(id, entry.address))
        }
        return actions
    }

    // MARK: requests

    private mutating func fillAll(now: UInt64) -> [Action] {
        var actions: [Action] = []
        for id in links.keys.sorted() { actions += fill(id, now: now) }
        return actions
    }

    /// Tops up one link's requests within its budget.
    private mutating func fill(_ id: ConnectionID, now: UInt64) -> [Action] {
        // The link is read and changed where it is stored (see `picker`).
        guard !isFinished, links[id]?.connected == true, let table = picker?.table else { return [] }
        let askedBytes = links[id]!.askedBytes
        if links[id]!.isSeed {
            guard links[id]!.bits != nil, !links[id]!.awaitingOffer, now >= links[id]!.retryAt,
                askedBytes * 2 <= configuration.seedBudgetBytes
            else { return [] }
            links[id]!.awaitingOffer = true
            let bytes = configuration.seedBudgetBytes - askedBytes
            return [
                .send(id, .requestAny(count: UInt16(configuration.maxChunksPerRequest), bytes: UInt32(clamping: bytes)))
            ]
        }
        guard let bits = links[id]!.bits, askedBytes < configuration.peerBudgetBytes else { return [] }
        let chosen = picker!.pick(
            from: bits, asked: links[id]!.asked, count: configuration.maxChunksPerRequest,
            budget: configuration.peerBudgetBytes - askedBytes, using: &rng)
        guard !chosen.isEmpty else { return [] }
        if links[id]!.asked.isEmpty { links[id]!.waitingSince = now }
        for i in chosen {
            links[id]!.asked[i] = now
            links[id]!.askedBytes += UInt64(table.sizes[i])
        }
        return [.send(id, .request(chosen.map { table.ids[$0] }))]
    }

    /// No chunk for a while: ask the seed by id for what no connected peer holds.
    private mutating func fallback(now: UInt64) -> [Action] {
        guard now - lastProgress >= configuration.fallbackMilliseconds, let s = seedLink,
            links[s]?.bits != nil, links[s]!.asked.isEmpty, let table = picker?.table
        else { return [] }
        var chosen: [Int] = []
        var bytes: UInt64 = 0
        for i in picker!.unavailable(limit: configuration.maxChunksPerRequest) {
            if !chosen.isEmpty && bytes + UInt64(table.sizes[i]) > configuration.seedBudgetBytes { break }
            bytes += UInt64(table.sizes[i])
            chosen.append(i)
        }
        guard !chosen.isEmpty else { return [] }
        links[s]!.waitingSince = now
        for i in chosen {
            links[s]!.asked[i] = now
            links[s]!.askedBytes += UInt64(table.sizes[i])
            picker!.requested(i)
        }
        return [.send(s, .request(chosen.map { table.ids[$0] }))]
    }

    // MARK: ends

    private mutating func release(_ link: Link) {
        // In order: the picker's candidates keep the order they come back in, and a replay
        // (the simulation's random seed) must not depend on this process's hash seed.
        for i in link.asked.keys.sorted() { picker?.released(i) }
    }

    private mutating func drop(_ id: ConnectionID, reason: String, now: UInt64) -> [Action] {
        guard let link = links.removeValue(forKey: id) else { return [] }
        if link.forManifest { return [.close(id, reason: reason)] + nextManifestSource(now: now) }
        release(link)
        if let bits = link.bits, !link.isSeed { picker?.peerLeft(bits) }
        if link.isSeed { seedLink = nil; seedDownSince = now }
        return [.close(id, reason: reason)] + (isFinished ? [] : fillAll(now: now))
    }

    /// A peer sent bytes that are not the chunk: never again, from its id or its address; and
    /// the seed is told, so that it stops counting (and listing) the liar as a holder.
    private mutating func ban(_ id: ConnectionID, now: UInt64) -> [Action] {
        guard let link = links[id] else { return [] }
        var report: [Action] = []
        if let n = link.nodeID {
            banned.insert(n)
            if let s = seedLink, links[s]?.connected == true, session.state == .transferring {
                report.append(.send(s, .report([n])))
            }
        }
        if let a = link.address { bannedAddresses.insert(a) }
        statistics.peersBanned += 1
        return report + drop(id, reason: "sent a corrupt chunk: banned", now: now)
    }

    /// "chunk ID of /nix/store/…": the path a failure line sends the admin to (the first of
    /// the manifest's paths that holds the chunk).
    private func describe(_ chunk: ChunkID) -> String {
        guard let manifest, let table = picker?.table, let index = table.index(of: chunk),
            let p = table.pathChunks.firstIndex(where: { $0.contains(index) })
        else { return "chunk \(chunk)" }
        return "chunk \(chunk) of \(manifest.paths[p].storePath)"
    }

    private mutating func unexpected(_ id: ConnectionID, _ what: String, now: UInt64) -> [Action] {
        if links[id]?.isSeed == true { return fail("protocol violation: the seed sent \(what)") }
        return drop(id, reason: "sent \(what)", now: now)
    }

    private mutating func fail(_ line: String) -> [Action] {
        guard !isFailed else { return [] }
        isFailed = true
        let all = links.keys.sorted()
        links = [:]
        seedLink = nil
        return [.fail(line)] + all.map { .close($0, reason: "failed") }
    }
}
