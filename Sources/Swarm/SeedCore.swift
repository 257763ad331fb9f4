// Everything raven decides, for all its connections at once, as a pure state machine: the
// handshake and manifests (ServerSession), the tracker, and the super-seeding scheduler. The
// runtime (or the simulation) feeds it connections and messages and performs its actions.
//
// Manifests go first: while a member that asked for its manifest has not joined yet (no
// BITFIELD), chunk offers wait, for at most `manifestFirstMilliseconds`. A boot wave asks for all
// its manifests at once; chunk data sharing raven's uplink with them left some of 16 emulated
// clients without a manifest for ~0.9 s (others had theirs in 0.1 s), so they joined late, found
// their peers' connection slots taken and finished last. Nothing can start without a manifest.
import Sodium

public struct SeedCore: Sendable {
    public enum Action: Equatable, Sendable {
        case send(Int, Message)
        /// Send these chunks to the connection, in order (MISSING for any not held).
        case serve(Int, [ChunkID])
        case close(Int, reason: String)
    }

    public struct Counters: Sendable {
        public var chunksOffered = 0
        public var chunksRequested = 0
        public var peerListsSent = 0
    }

    public let catalog: ManifestCatalog
    public private(set) var tracker = Tracker()
    private var schedulers: [Digest256: SeedScheduler] = [:]
    /// REQUEST_ANYs held back while the scheduler's in-flight cap is reached, oldest first;
    /// answered as confirmations (HAVE) make room, so raven's uplink never waits on a retry timer.
    private var parked: [Digest256: [(connection: Int, count: Int, bytes: UInt64)]] = [:]
    private var sessions: [Int: ServerSession] = [:]
    private var remotes: [Int: PeerAddress] = [:]
    private let hello: Hello
    private var rng: SplitMix64
    public private(set) var counters = Counters()
    /// The time of the last `tick` (milliseconds; time is an input).
    private var now: UInt64 = 0
    /// Peers handed out per PEERS answer at most.
    public var maxPeersPerAnswer = 50
    /// Connections sent a manifest and not joined yet, with when it was sent.
    private var manifestsOnTheirWay: [Int: UInt64] = [:]
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
        rng = SplitMix64(seed: randomSeed)
        for entry in catalog.entries {
            let table = ChunkTable(manifest: entry.manifest)
            tracker.open(entry.signed.id, table: table)
            schedulers[entry.signed.id] = SeedScheduler(table: table, maxBytesInFlight: maxBytesInFlight)
        }
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
        for (c, sent) in manifestsOnTheirWay where self.now >= sent + manifestForgottenMilliseconds {
            _ = manifestLanded(c)
        }
        var out: [Action] = []
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
        if manifestLanded(connection) { return unparkAll() }
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
            case .send(let m):
                if case .manifest = m {
                    manifestsOnTheirWay[connection] = now
                    manifestsFirstSince = manifestsFirstSince ?? now
                }
                out.append(.send(connection, m))
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
            return manifestLanded(connection) ? unparkAll() : []
        case .have(let indices):
            guard tracker.have(connection: connection, indices) else {
                return violation(connection, "HAVE outside the announced swarm")
            }
            guard let (id, _) = tracker.swarm(of: connection) else { return [] }
            schedulers[id]?.confirmed(connection, indices, now: now)
            return unpark(id)
        case .report(let ids):
            tracker.report(ids)
            return []
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
            if let actions = answer(connection, in: id, count: Int(count), bytes: UInt64(bytes)) { return actions }
            parked[id, default: []].append((connection, Int(count), UInt64(bytes)))
            return []
        default:
            return []
        }
    }

    /// The OFFER for a REQUEST_ANY, or nil while the in-flight cap holds it back.
    private mutating func answer(_ connection: Int, in id: Digest256, count: Int, bytes: UInt64) -> [Action]? {
        guard let swarm = tracker.swarms[id], let member = swarm.members[connection] else { return [] }
        let others = swarm.serving - (member.address != nil ? 1 : 0)
        if others > 0 && schedulers[id]!.isFull || manifestsFirst { return nil }
        let chosen = schedulers[id]!.offer(
            to: connection, holding: member.bits, holders: swarm.holders, others: others,
            count: count, bytes: bytes, now: now)
        counters.chunksOffered += chosen.count
        var out: [Action] = [.send(connection, .offer(chosen))]
        if !chosen.isEmpty { out.append(.serve(connection, chosen.map { swarm.table.ids[Int($0)] })) }
        return out
    }

    private mutating func unparkAll() -> [Action] {
        schedulers.keys.sorted().flatMap { unpark($0) }
    }

    /// Answers parked requests, oldest first, while there is room.
    private mutating func unpark(_ id: Digest256) -> [Action] {
        var out: [Action] = []
        while let first = parked[id]?.first,
            let actions = answer(first.connection, in: id, count: first.count, bytes: first.bytes)
        {
            parked[id]!.removeFirst()
            out += actions
        }
        return out
    }

    private mutating func violation(_ connection: Int, _ reason: String) -> [Action] {
        [.send(connection, .error(.protocolViolation, reason)), .close(connection, reason: reason)]
    }
}
