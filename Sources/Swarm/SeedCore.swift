// Everything raven decides, for all its connections at once, as a pure state machine: the
// handshake and manifests (ServerSession), the tracker, and the super-seeding scheduler. The
// runtime (or the simulation) feeds it connections and messages and performs its actions.
//
// Manifests go first: while a member that asked for its manifest has not joined yet (no
// BITFIELD), chunk offers wait, for at most `manifestFirstMilliseconds`. A boot wave asks for all
// its manifests at once; chunk data sharing raven's uplink with them left some of 16 emulated
// clients without a manifest for ~0.9 s (others had theirs in 0.1 s), so they joined late, found
// their peers' connection slots taken and finished last. Nothing can start without a manifest.
//
// Manifests from peers: a client that welcomes peers is told which members hold its manifest
// (MANIFEST_PEERS) and fetches it from them; raven sends it itself only while fewer than
// `maxManifestsOnTheirWay` are on their way from it and no member has room, or after an asker
// waited `manifestWaitMilliseconds`. A boot wave then costs raven's uplink a few manifests
// instead of one per client (emulated N = 16: 2 instead of 16 × 114 KB, ~0.3 s of a 50 Mbit/s
// uplink; simulated N = 1000: 10 instead of 1000).
import NixFormats
import Sodium

public struct SeedCore: Sendable {
    public enum Action: Equatable, Sendable {
        case send(Int, Message)
        /// Send these chunks to the connection, in order (MISSING for any not held).
        case serve(Int, [ChunkID])
        case close(Int, reason: String)
        /// The connection reported these nodes, for the first time, for chunks that failed its
        /// verification: they are listed to no one from now on (for the seed's log).
        case reported(by: Int, nodeIDs: [[UInt8]])
    }

    public struct Counters: Sendable {
        public var chunksOffered = 0
        public var chunksRequested = 0
        public var peerListsSent = 0
        /// Manifests sent, and askers sent to members for theirs (MANIFEST_PEERS).
        public var manifestsSent = 0
        public var manifestReferrals = 0
    }

    public private(set) var catalog: ManifestCatalog
    private let maxBytesInFlight: UInt64
    public private(set) var tracker = Tracker()
    private var schedulers: [Digest256: SeedScheduler] = [:]
    /// REQUEST_ANYs held back while the scheduler's in-flight cap is reached, oldest first;
    /// answered as confirmations (HAVE) make room, so raven's uplink never waits on a retry timer.
    private var parked: [Digest256: [(connection: Int, count: Int, bytes: UInt64)]] = [:]
    private var sessions: [Int: ServerSession] = [:]
    /// The chunks of the closure each connection asked its manifest for by toplevel: a manifest
    /// may hold several toplevels' closures, and a client wants only its own. Asked by id (a
    /// reconnect), it is offered any chunk of the manifest it lacks.
    private var wants: [Int: (manifest: Digest256, chunks: Bitfield)] = [:]
    /// Closure chunks by manifest and toplevel, computed once for a boot wave.
    private var closureChunks: [Digest256: [StorePath: Bitfield]] = [:]
    private var remotes: [Int: PeerAddress] = [:]
    private let hello: Hello
    private var rng: SplitMix64
    public private(set) var counters = Counters()
    /// The time of the last `tick` (milliseconds; time is an input).
    private var now: UInt64 = 0
    /// Peers handed out per PEERS answer at most.
    public var maxPeersPerAnswer = 50
    /// Connections sent a manifest and not joined yet: which, and when it was sent.
    private var manifestsOnTheirWay: [Int: (id: Digest256, sent: UInt64)] = [:]
    /// GET_MANIFESTs (peers welcome) waiting for a member that holds the manifest, oldest first.
    private var waitingForManifest: [(connection: Int, id: Digest256, since: UInt64)] = []
    /// Askers sent to a member for a manifest and not joined yet (asker → member), and how many
    /// each member has: a member gets at most `maxReferralsPerHolder` at once, so that a boot
    /// wave's manifests spread as a tree (each that joins serves the next) instead of 14 at
    /// once from the first member to join.
    private var referredTo: [Int: Int] = [:]
    private var referrals: [Int: Int] = [:]
    public var maxReferralsPerHolder = 4
    /// Chunks offered to one member and not confirmed, while others serve (see `nextParked`).
    public var maxOfferedPerMember = 2
    public var behindFirstWindow = 16
    /// Manifests on their way from raven, per manifest, while clients welcome peers.
    public var maxManifestsOnTheirWay = 2
    /// Longest a GET_MANIFEST waits for a holder before raven sends the manifest itself.
    public var manifestWaitMilliseconds: UInt64 = 250
    /// Members named per MANIFEST_PEERS.
    public var manifestPeersPerAnswer = 4
    /// When the first of `manifestsOnTheirWay` went out (nil while it is empty).
    private var manifestsFirstSince: UInt64?
    /// The longest chunk offers wait for manifests on their way (a stream of newcomers cannot
    /// hold the others back for longer), and when a connection that took its manifest and never
    /// joined stops counting.
    public var manifestFirstMilliseconds: UInt64 = 500
    public var manifestForgottenMilliseconds: UInt64 = 2000

    public init(
        catalog: ManifestCatalog, hello: Hello, randomSeed: UInt64,
        maxBytesInFlight: UInt64 = SeedScheduler.defaultMaxBytesInFlight
    ) {
        self.catalog = catalog
        self.hello = hello
        self.maxBytesInFlight = maxBytesInFlight
        rng = SplitMix64(seed: randomSeed)
        for entry in catalog.entries { open(entry) }
    }

    /// Serves one more manifest from now on (raven reloading its state); nil if it is served
    /// already. The swarms of the others go on as they were.
    public mutating func add(_ signed: SignedManifest) throws(WireError) -> ManifestCatalog.Entry? {
        guard catalog.find(.id(signed.id)) == nil else { return nil }
        let entry = try catalog.add(signed)
        open(entry)
        return entry
    }

    private mutating func open(_ entry: ManifestCatalog.Entry) {
        let table = ChunkTable(manifest: entry.manifest)
        tracker.open(entry.signed.id, table: table)
        schedulers[entry.signed.id] = SeedScheduler(table: table, maxBytesInFlight: maxBytesInFlight)
    }

    /// A connection came in from `remote` (its IP; the port comes from its HELLO).
    public mutating func accepted(_ connection: Int, remote: PeerAddress?) {
        sessions[connection] = ServerSession(hello: hello)
        remotes[connection] = remote
    }

    public func state(of connection: Int) -> ServerSession.State? { sessions[connection]?.state }

    /// Call a few times a second: members that stopped confirming free the in-flight cap.
    public mutating func tick(now: UInt64) -> [Action] {
        self.now = max(self.now, now)
        for (c, way) in manifestsOnTheirWay where self.now >= way.sent + manifestForgottenMilliseconds {
            _ = manifestLanded(c)
        }
        var out = answerWaitingManifests()
        for id in schedulers.keys.sorted() {
            schedulers[id]!.expire(now: self.now)
            out += unpark(id)
        }
        return out
    }

    /// True while chunk offers wait for manifests on their way.
    private var manifestsFirst: Bool {
        manifestsFirstSince.map { now < $0 + manifestFirstMilliseconds } ?? false
    }

    /// `connection` joined, left or was forgotten: its manifest no longer holds offers back.
    /// True when it was on its way.
    private mutating func manifestLanded(_ connection: Int) -> Bool {
        guard manifestsOnTheirWay.removeValue(forKey: connection) != nil else { return false }
        if manifestsOnTheirWay.isEmpty { manifestsFirstSince = nil }
        return true
    }

    /// The connection ended; what it freed may go to parked requests.
    public mutating func closed(_ connection: Int) -> [Action] {
        let swarm = tracker.swarm(of: connection)?.0
        if let id = swarm {
            schedulers[id]?.left(connection)
            parked[id]?.removeAll { $0.connection == connection }
        }
        tracker.leave(connection: connection)
        sessions[connection] = nil
        remotes[connection] = nil
        wants[connection] = nil
        referralEnded(connection)
        waitingForManifest.removeAll { $0.connection == connection }
        if manifestLanded(connection) { return answerWaitingManifests() + unparkAll() }
        return swarm.map { unpark($0) } ?? []
    }

    public mutating func malformed(_ connection: Int, _ error: WireError) -> [Action] {
        guard var session = sessions[connection] else { return [] }
        let actions = session.malformed(error)
        sessions[connection] = session
        return translate(connection, actions)
    }

    public mutating func received(_ connection: Int, _ message: Message, now: UInt64) -> [Action] {
        self.now = max(self.now, now)
        guard var session = sessions[connection] else { return [] }
        let actions = session.received(message, catalog: catalog)
        sessions[connection] = session
        return translate(connection, actions)
    }

    private mutating func translate(_ connection: Int, _ actions: [ServerSession.Action]) -> [Action] {
        var out: [Action] = []
        for action in actions {
            switch action {
            case .send(let m): out.append(.send(connection, m))
            case .manifestAsked(let id, let peersWelcome, let toplevel):
                if let toplevel, let chunks = chunksOfClosure(toplevel, in: id) { wants[connection] = (id, chunks) }
                if peersWelcome {
                    waitingForManifest.append((connection, id, now))
                    out += answerWaitingManifests()
                } else {
                    referralEnded(connection)  // the member it was sent to did not give it
                    out.append(sendManifest(id, to: connection))
                }
            case .close(let reason): out.append(.close(connection, reason: reason))
            case .serve(let ids):
                counters.chunksRequested += ids.count
                if let (id, swarm) = tracker.swarm(of: connection) {
                    for chunk in ids { if let i = swarm.table.index(of: chunk) { schedulers[id]?.sent(i) } }
                }
                out.append(.serve(connection, ids))
            case .swarm(let m): out += swarmMessage(connection, m)
            }
        }
        return out
    }

    private mutating func swarmMessage(_ connection: Int, _ message: Message) -> [Action] {
        switch message {
        case .bitfield(let manifest, let bits):
            let theirs = sessions[connection]?.theirs
            var address: PeerAddress?
            if let ip = remotes[connection]?.ip, let port = theirs?.listenPort, port != 0 {
                address = PeerAddress(ip: ip, port: port)
            }
            guard
                tracker.join(
                    connection: connection, nodeID: theirs?.nodeID ?? [], address: address, manifest: manifest,
                    bits: bits)
            else {
                return [.send(connection, .error(.notFound, "no swarm for that manifest and bitfield"))]
            }
            let landed = manifestLanded(connection)
            referralEnded(connection)
            return answerWaitingManifests() + (landed ? unparkAll() : [])
        case .have(let indices):
            guard tracker.have(connection: connection, indices) else {
                return violation(connection, "HAVE outside the announced swarm")
            }
            guard let (id, _) = tracker.swarm(of: connection) else { return [] }
            schedulers[id]?.confirmed(connection, indices, now: now)
            return unpark(id)
        case .report(let ids):
            let new = tracker.report(ids)
            return new.isEmpty ? [] : [.reported(by: connection, nodeIDs: new)]
        case .getPeers(let max):
            counters.peerListsSent += 1
            let entries = tracker.peers(for: connection, max: min(Int(max), maxPeersPerAnswer), using: &rng)
            return [.send(connection, .peers(entries))]
        case .requestAny(let count, let bytes):
            guard let (id, swarm) = tracker.swarm(of: connection), swarm.members[connection] != nil else {
                return violation(connection, "REQUEST_ANY before BITFIELD")
            }
            // A second REQUEST_ANY before the OFFER (the client gave up waiting) replaces the first.
            parked[id]?.removeAll { $0.connection == connection }
            // An OFFER lists at most 256 chunks (§5), whatever count was asked for.
            let count = min(Int(count), FrameLimits().maxRequestCount)
            if let actions = answer(connection, in: id, count: count, bytes: UInt64(bytes)) { return actions }
            parked[id, default: []].append((connection, count, UInt64(bytes)))
            return []
        default:
            return []
        }
    }

    /// The chunk-table indices of `toplevel`'s closure in manifest `id`, as a bitfield.
    private mutating func chunksOfClosure(_ toplevel: StorePath, in id: Digest256) -> Bitfield? {
        if let known = closureChunks[id]?[toplevel] { return known }
        guard let manifest = catalog.find(.id(id))?.manifest, let top = manifest.index(of: toplevel),
            let table = tracker.swarms[id]?.table
        else { return nil }
        var bits = Bitfield(count: table.count)
        for i in table.chunks(ofPaths: manifest.closure(of: top)) { bits.insert(i) }
        closureChunks[id, default: [:]][toplevel] = bits
        return bits
    }

    private mutating func sendManifest(_ id: Digest256, to connection: Int) -> Action {
        guard let entry = catalog.find(.id(id)) else { return .send(connection, .error(.notFound, "no such manifest")) }
        counters.manifestsSent += 1
        manifestsOnTheirWay[connection] = (id, now)
        manifestsFirstSince = manifestsFirstSince ?? now
        return .send(connection, .manifest(entry.file))
    }

    /// Answers the waiting GET_MANIFESTs that can be answered now, oldest first: with members
    /// that hold the manifest and have room, the least busy first; else raven sends the manifest
    /// itself while few are on their way from it (one more holder), or after the wait.
    /// (Simulated, 4 askers per member at once against 2: N = 100 / 200 / 1000 1.11 / 1.12 / 1.18
    /// × T_min against 1.15 / 1.14 / 1.27; raven sending none while members are busy made N = 16
    /// wait for its manifests, 1.03 → 1.11.)
    private mutating func answerWaitingManifests() -> [Action] {
        guard !waitingForManifest.isEmpty else { return [] }
        var out: [Action] = []
        var still: [(connection: Int, id: Digest256, since: UInt64)] = []
        var holders: [Digest256: [(referrals: Int, connection: Int)]] = [:]
        for w in waitingForManifest {
            if holders[w.id] == nil { holders[w.id] = manifestHolders(w.id) }
            var list = holders[w.id]!
            let others = list.filter { $0.connection != w.connection }
            if let first = others.first, first.referrals < maxReferralsPerHolder {
                let named = others.prefix(manifestPeersPerAnswer).compactMap { entry(w.id, $0.connection) }
                out.append(.send(w.connection, .manifestPeers(w.id, named)))
                referrals[first.connection, default: 0] += 1
                counters.manifestReferrals += 1
                referredTo[w.connection] = first.connection
                // Keep the list ordered by (referrals, connection) without sorting it again.
                let i = list.firstIndex { $0.connection == first.connection }!
                list.remove(at: i)
                let moved = (first.referrals + 1, first.connection)
                let j = list.firstIndex { ($0.referrals, $0.connection) > moved } ?? list.count
                list.insert(moved, at: j)
                holders[w.id] = list
            } else if now >= w.since + manifestWaitMilliseconds
                || manifestsOnTheirWay.values.filter({ $0.id == w.id }).count < maxManifestsOnTheirWay
            {
                out.append(sendManifest(w.id, to: w.connection))
            } else {
                still.append(w)
            }
        }
        waitingForManifest = still
        return out
    }

    /// Members of manifest `id`'s swarm that serve (they verified the manifest and keep it),
    /// ordered by askers sent to them and not joined yet, then connection.
    private func manifestHolders(_ id: Digest256) -> [(referrals: Int, connection: Int)] {
        guard let swarm = tracker.swarms[id] else { return [] }
        return swarm.members.compactMap { c, m in
            m.address != nil && !m.suspect ? (referrals[c] ?? 0, c) : nil
        }.sorted { ($0.referrals, $0.connection) < ($1.referrals, $1.connection) }
    }

    private func entry(_ id: Digest256, _ connection: Int) -> PeerEntry? {
        guard let m = tracker.swarms[id]?.members[connection], let address = m.address else { return nil }
        return PeerEntry(address: address, nodeID: m.nodeID, complete: m.bits.isComplete)
    }

    /// `connection` joined, left or came back to raven: it no longer occupies the member it was
    /// sent to; and as a member that left, it is sent nobody.
    private mutating func referralEnded(_ connection: Int) {
        if let holder = referredTo.removeValue(forKey: connection) { referrals[holder]? -= 1 }
        if tracker.swarm(of: connection) == nil { referrals[connection] = nil }
    }

    /// The OFFER for a REQUEST_ANY, or nil while the in-flight cap holds it back.
    private mutating func answer(_ connection: Int, in id: Digest256, count: Int, bytes: UInt64) -> [Action]? {
        guard let swarm = tracker.swarms[id], let member = swarm.members[connection] else { return [] }
        let others = swarm.serving - (member.address != nil ? 1 : 0)
        if others > 0 && schedulers[id]!.isFull || manifestsFirst { return nil }
        let wanted = wants[connection].flatMap { $0.manifest == id ? $0.chunks : nil }
        let chosen = schedulers[id]!.offer(
            to: connection, holding: member.bits, wanting: wanted, holders: swarm.holders, others: others,
            count: count, bytes: bytes, now: now)
        counters.chunksOffered += chosen.count
        var out: [Action] = [.send(connection, .offer(chosen))]
        if !chosen.isEmpty { out.append(.serve(connection, chosen.map { swarm.table.ids[Int($0)] })) }
        return out
    }

    private mutating func unparkAll() -> [Action] {
        schedulers.keys.sorted().flatMap { unpark($0) }
    }

    /// Answers parked requests while there is room: the member furthest behind first.
    private mutating func unpark(_ id: Digest256) -> [Action] {
        var out: [Action] = []
        while let i = nextParked(id), let p = parked[id]?[i],
            let actions = answer(p.connection, in: id, count: p.count, bytes: p.bytes)
        {
            parked[id]!.remove(at: i)
            out += actions
        }
        return out
    }

    /// The parked request to answer next: among the oldest `behindFirstWindow`, the member
    /// holding the fewest chunks (the oldest among equals) of those with fewer than
    /// `maxOfferedPerMember` chunks on their way. A member that falls behind (fewer or slower
    /// links) gets more of raven's uplink and catches up; with requests answered oldest first,
    /// one such member of 16 emulated finished 0.5 s after the rest. The window keeps a large
    /// swarm close to oldest first (behind-first over all 1000 simulated: 1.18 → 1.37 × T_min).
    private func nextParked(_ id: Digest256) -> Int? {
        guard let list = parked[id], let swarm = tracker.swarms[id], let scheduler = schedulers[id] else { return nil }
        var best: (index: Int, held: Int)?
        for (i, p) in list.prefix(behindFirstWindow).enumerated() {
            guard let member = swarm.members[p.connection] else { return i }  // gone: drop it
            if swarm.serving > 1 && scheduler.offered(to: p.connection) >= maxOfferedPerMember { continue }
            if best == nil || member.bits.setCount < best!.held { best = (i, member.bits.setCount) }
        }
        return best?.index
    }

    private mutating func violation(_ connection: Int, _ reason: String) -> [Action] {
        [.send(connection, .error(.protocolViolation, reason)), .close(connection, reason: reason)]
    }
}
