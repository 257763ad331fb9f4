// The fetching node's state machine, event by event: a client that trusts the fixture manifest
// and fetches it from one peer, one chunk asked at a time.
import NixFormats
import Sodium
import Swarm
import Testing

@Suite struct SwarmClientTests {
    static let seedAddress = PeerAddress(ip: [127, 0, 0, 1], port: 7020)!

    /// A client past the handshake, planned, with a connected peer that holds every chunk.
    static func clientWithPeer(
        manifest: Manifest? = nil, _ configure: (inout SwarmClient.Configuration) -> Void = { _ in }
    ) throws -> (client: SwarmClient, peer: Int, manifest: Manifest, seed: Int) {
        let manifest = try manifest ?? Fixtures.manifest()
        let key = try Fixtures.key()
        let signed = SignedManifest.sign(manifest, with: [key])
        var configuration = SwarmClient.Configuration()
        configuration.peerBudgetBytes = 64 << 10
        configure(&configuration)
        var c = SwarmClient(
            configuration: configuration, seed: seedAddress, nodeID: [UInt8](repeating: 2, count: 16),
            toplevel: manifest.toplevels[0], trustedKeys: [key.publicKey], randomSeed: 1)
        let seedLink = try #require(dialled(c.start(now: 0)).first)
        _ = c.connected(seedLink, now: 0)
        _ = c.received(
            seedLink, .hello(Hello(role: .seed, nodeID: [UInt8](repeating: 1, count: 16), listenPort: 7020)), now: 0)
        let verified = c.received(seedLink, .manifest(signed.encode()), now: 0)
        #expect(verified == [.verified(manifest, signed.id)])
        _ = c.plan(wantedPaths: Array(manifest.paths.indices), holding: [], now: 0)
        let peer = c.newConnectionID()
        _ = c.accepted(peer, now: 0)
        _ = c.received(
            peer, .hello(Hello(role: .agent, nodeID: [UInt8](repeating: 3, count: 16), listenPort: 7021)), now: 0)
        return (c, peer, manifest, seedLink)
    }

    /// The connections these actions dial.
    static func dialled(_ actions: [SwarmClient.Action]) -> [Int] {
        actions.compactMap { action -> Int? in
            if case .connect(let id, _) = action { return id }
            return nil
        }
    }

    /// Whether these actions end the fetch.
    static func fails(_ actions: [SwarmClient.Action]) -> Bool {
        actions.contains { if case .fail = $0 { true } else { false } }
    }

    /// The connections these actions close.
    static func closed(_ actions: [SwarmClient.Action]) -> [Int] {
        actions.compactMap { if case .close(let id, _) = $0 { id } else { nil } }
    }

    static func requests(_ actions: [SwarmClient.Action], on link: Int) -> [ChunkID] {
        actions.flatMap { action -> [ChunkID] in
            if case .send(link, .request(let ids)) = action { return ids }
            return []
        }
    }

    /// In a small swarm a full node takes a newcomer and drops one of the links it opened; in a
    /// larger one (as many known peers as links opened and kept) it turns the newcomer away.
    @Test func aFullNodeMakesRoomForANewcomerOnlyInASmallSwarm() throws {
        let manifestID = SignedManifest.sign(try Fixtures.manifest(), with: [try Fixtures.key()]).id
        let table = ChunkTable(manifest: try Fixtures.manifest())
        var (c, _, _, seed) = try Self.clientWithPeer {
            $0.maxOutgoing = 2
            $0.maxConnections = 3
        }
        func peers(_ count: Int) -> Message {
            .peers(
                (1...count).map {
                    PeerEntry(
                        address: PeerAddress(ip: [10, 0, 0, UInt8($0)], port: 7021)!,
                        nodeID: [UInt8](repeating: UInt8(10 + $0), count: 16), complete: false)
                })
        }
        let dialled = Self.dialled(c.received(seed, peers(3), now: 1))
        try #require(dialled.count == 2)
        for id in dialled { _ = c.connected(id, now: 2) }
        #expect(c.peerLinkCount == 0)  // none sent its BITFIELD yet; the cap counts every link
        // Full: a newcomer is on probation (HELLO only) until it shows it is a peer (BITFIELD).
        let newcomer = Self.newcomer(&c, node: 30, now: 3)
        let taken = c.received(newcomer, .bitfield(manifest: manifestID, Bitfield(count: table.count)), now: 3)
        #expect(taken.contains(.close(dialled[1], reason: "making room for a newcomer")))
        #expect(taken.contains { if case .send(newcomer, .bitfield) = $0 { true } else { false } })
        // One opened link is left, half the quota: the next newcomer is turned away.
        let second = Self.newcomer(&c, node: 31, now: 4)
        #expect(
            c.received(second, .bitfield(manifest: manifestID, Bitfield(count: table.count)), now: 4) == [
                .close(second, reason: "too many connections")
            ])
        // A larger swarm: no room is made even with links to give.
        var (large, _, _, largeSeed) = try Self.clientWithPeer {
            $0.maxOutgoing = 2
            $0.maxConnections = 3
        }
        let opened = Self.dialled(large.received(largeSeed, peers(5), now: 1))
        for id in opened { _ = large.connected(id, now: 2) }
        let third = Self.newcomer(&large, node: 32, now: 3)
        #expect(
            large.received(third, .bitfield(manifest: manifestID, Bitfield(count: table.count)), now: 3) == [
                .close(third, reason: "too many connections")
            ])
    }

    /// A connection accepted while full: on probation, greeted with HELLO only.
    static func newcomer(_ c: inout SwarmClient, node: UInt8, now: UInt64) -> Int {
        let id = c.newConnectionID()
        #expect(
            c.accepted(id, now: now) == [
                .send(id, .hello(Hello(role: .agent, nodeID: [UInt8](repeating: 2, count: 16), listenPort: 0)))
            ])
        _ = c.received(
            id, .hello(Hello(role: .agent, nodeID: [UInt8](repeating: node, count: 16), listenPort: 7021)), now: now)
        return id
    }

    /// A full node serves the manifest to a newcomer on probation (the seed named it), and
    /// closes one that asks for anything else or stays too long.
    @Test func aFullNodeServesTheManifestOnProbation() throws {
        var (c, peer, manifest, _) = try Self.clientWithPeer {
            $0.maxOutgoing = 1
            $0.maxConnections = 1
        }
        let signed = SignedManifest.sign(manifest, with: [try Fixtures.key()])
        let asker = Self.newcomer(&c, node: 40, now: 1)
        #expect(
            c.received(asker, .getManifest(.id(signed.id), peersWelcome: false), now: 2) == [
                .send(asker, .manifest(signed.encode()))
            ])
        // Probation links hear no HAVE (they got no BITFIELD).
        let table = ChunkTable(manifest: manifest)
        let stored = c.chunkArrived(peer, index: 0, data: [1][...], intact: true, now: 3)
        #expect(stored.contains(.store(0, table.ids[0], [1][...])))
        #expect(!stored.contains { if case .send(asker, _) = $0 { true } else { false } })
        let requester = Self.newcomer(&c, node: 41, now: 3)
        #expect(
            c.received(requester, .request([table.ids[0]]), now: 4) == [
                .close(requester, reason: "too many connections")
            ])
        #expect(!c.tick(now: 5001).contains(.close(asker, reason: "too many connections")))
        #expect(c.tick(now: 5002).contains(.close(asker, reason: "too many connections")))
    }

    /// A chunk whose bytes are in but not yet hashed frees the link's budget: the next request
    /// goes out at once, and the verdict stores it (or bans the peer) later.
    @Test func receivedBytesFreeTheBudgetBeforeTheirHash() throws {
        var (c, peer, manifest, _) = try Self.clientWithPeer()
        let table = ChunkTable(manifest: manifest)
        let manifestID = try #require(c.manifestID)
        let asked = Self.requests(
            c.received(peer, .bitfield(manifest: manifestID, Bitfield.full(count: table.count)), now: 1), on: peer)
        try #require(asked.count == 1, "one 64 KiB chunk fills the budget")
        #expect(table.sizes[try #require(table.index(of: asked[0]))] == 64 << 10)
        let first = try #require(table.index(of: asked[0]))
        let next = Self.requests(c.chunkReceived(peer, index: first, now: 2), on: peer)
        // The other two (4464 and 120 bytes) fit the freed budget.
        #expect(Set(next) == Set(table.ids).subtracting([asked[0]]), "the rest is asked before the hash")
        #expect(c.chunkReceived(peer, index: first, now: 2) == [], "once per chunk")
        let stored = c.chunkArrived(peer, index: first, data: [1][...], intact: true, now: 3)
        #expect(stored.contains(.store(first, asked[0], [1][...])))
        #expect(Self.requests(stored, on: peer).isEmpty, "nothing is left to ask")
        // The second turns out corrupt: the peer is banned and the link closed.
        let second = try #require(table.index(of: next[0]))
        _ = c.chunkReceived(peer, index: second, now: 4)
        let banned = c.chunkArrived(peer, index: second, data: [2][...], intact: false, now: 5)
        #expect(banned.contains(.close(peer, reason: "sent a corrupt chunk: banned")))
        #expect(c.statistics.peersBanned == 1)
    }

    /// A peer that connected but whose HELLO is not in yet already has this node's BITFIELD, so
    /// a chunk verified in between is announced to it (else it never learns this node holds it).
    @Test func aChunkArrivingBeforeAPeersHelloIsAnnouncedToIt() throws {
        var (c, _, manifest, seedLink) = try Self.clientWithPeer()
        let table = ChunkTable(manifest: manifest)
        let newcomer = c.newConnectionID()
        let greeting = c.accepted(newcomer, now: 1)
        #expect(greeting.contains { if case .send(newcomer, .bitfield) = $0 { true } else { false } })
        let stored = c.chunkArrived(seedLink, index: 0, data: [1][...], intact: true, now: 2)
        #expect(stored.contains(.store(0, table.ids[0], [1][...])))
        #expect(stored.contains(.send(newcomer, .have([0]))), "announced before the newcomer's HELLO")
    }

    /// A frame that cannot be decoded (oversize, unknown type, truncated) closes its own link and
    /// nothing else: a peer's, or the seed's once the manifest is trusted (the fetch goes on).
    /// Before that, the seed is the only source of the manifest: the fetch ends with one line.
    @Test func aMalformedFrameClosesOnlyItsLink() throws {
        var (c, peer, _, seedLink) = try Self.clientWithPeer()
        let fromPeer = c.malformed(peer, .unknownMessageType(0x7f), now: 1)
        #expect(fromPeer.contains(.close(peer, reason: "protocol violation: unknown message type 127")))
        #expect(Self.closed(fromPeer) == [peer] && !Self.fails(fromPeer))
        #expect(c.malformed(peer, .truncated, now: 2) == [], "a closed link is forgotten")
        let fromSeed = c.malformed(seedLink, .tooLarge(what: "chunk frame", size: 1 << 30, limit: 4 << 20), now: 3)
        #expect(Self.closed(fromSeed) == [seedLink] && !Self.fails(fromSeed))

        let key = try Fixtures.key()
        var fresh = SwarmClient(
            configuration: SwarmClient.Configuration(), seed: Self.seedAddress,
            nodeID: [UInt8](repeating: 2, count: 16),
            toplevel: try Fixtures.manifest().toplevels[0], trustedKeys: [key.publicKey], randomSeed: 1)
        let seed = try #require(Self.dialled(fresh.start(now: 0)).first)
        _ = fresh.connected(seed, now: 0)
        let early = fresh.malformed(seed, .truncated, now: 1)
        #expect(early == [.fail("protocol violation: data ends early"), .close(seed, reason: "failed")])
    }

    /// `--seed` given the seed's HTTP face (the address of its binary cache and boot menus): the
    /// line says which port it wants, not "unknown message type 47" ("/" of "HTTP/1.1").
    @Test func aSeedAddressThatAnswersInHTTPIsNamedSo() throws {
        var c = SwarmClient(
            configuration: SwarmClient.Configuration(), seed: Self.seedAddress,
            nodeID: [UInt8](repeating: 2, count: 16),
            toplevel: try Fixtures.manifest().toplevels[0], trustedKeys: [try Fixtures.key().publicKey], randomSeed: 1)
        let seed = try #require(Self.dialled(c.start(now: 0)).first)
        _ = c.connected(seed, now: 0)
        #expect(
            c.malformed(seed, .httpAnswer, now: 1) == [
                .fail(
                    "the seed's address answers in HTTP: that is its HTTP face, the chunk port is its --listen "
                        + "(7020 by default)"),
                .close(seed, reason: "failed"),
            ])
    }
}
