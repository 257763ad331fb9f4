// What the fetching node does with messages that break the protocol (SPEC §8): a peer's closes
// that peer's link and nothing else (the fetch goes on from the seed and the other peers); the
// seed's ends the fetch with one line, since the seed is the source every node relies on.
import NixFormats
import Sodium
import Swarm
import Testing

@Suite struct SwarmClientViolationTests {
    static func hello(_ node: UInt8, version: UInt16 = Hello.currentVersion) -> Message {
        .hello(Hello(version: version, role: .agent, nodeID: [UInt8](repeating: node, count: 16), listenPort: 7021))
    }

    /// A peer accepted (after the fixture's peer), its HELLO in unless `greeted` is false.
    static func acceptPeer(_ c: inout SwarmClient, node: UInt8, greeted: Bool = true, now: UInt64) -> Int {
        let id = c.newConnectionID()
        _ = c.accepted(id, now: now)
        if greeted { _ = c.received(id, hello(node), now: now) }
        return id
    }

    /// Each violation by a peer closes that link alone, with its reason; the other peer and the
    /// seed keep their links, and the fetch has not failed.
    @Test func aPeerBreakingTheProtocolLosesOnlyItsLink() throws {
        let (_, _, manifest, _) = try SwarmClientTests.clientWithPeer()
        let table = ChunkTable(manifest: manifest)
        let manifestID = SignedManifest.sign(manifest, with: [try Fixtures.key()]).id
        let full = Message.bitfield(manifest: manifestID, Bitfield.full(count: table.count))
        let stranger = ChunkID(of: Array("not in the manifest".utf8))
        // (what the peer sent before, whether its HELLO was in, what it sends, why its link is closed)
        let cases: [(before: [Message], greeted: Bool, message: Message, reason: String)] = [
            ([], true, .have([0]), "HAVE before BITFIELD"),
            ([], true, .request([table.ids[0]]), "REQUEST before BITFIELD"),
            ([], false, full, "BITFIELD for another manifest or out of order"),
            (
                [], true, .bitfield(manifest: Blake2b256.hash(Array("other".utf8)), Bitfield.full(count: table.count)),
                "BITFIELD for another manifest or out of order"
            ),
            (
                [], true, .bitfield(manifest: manifestID, Bitfield(count: table.count + 8)),
                "BITFIELD for another manifest or out of order"
            ),
            ([full], true, full, "BITFIELD for another manifest or out of order"),
            ([full], true, .have([UInt32(table.count)]), "HAVE out of range"),
            ([], true, Self.hello(9), "bad HELLO"),
            ([], false, Self.hello(9, version: Hello.currentVersion + 1), "bad HELLO"),
            ([], false, Self.hello(2), "self or banned"),
            ([full], true, .error(.busy, "going away"), "peer reported an error"),
            ([full], true, .peers([]), "unexpected peers"),
            ([full], true, .offer([0]), "unexpected offer"),
            ([full], true, .chunk(stranger, [1, 2, 3]), "sent CHUNK \(stranger), which is not in the manifest"),
        ]
        for (n, t) in cases.enumerated() {
            var (c, peer, _, seed) = try SwarmClientTests.clientWithPeer()
            let rogue = Self.acceptPeer(&c, node: 5, greeted: t.greeted, now: 1)
            for m in t.before { _ = c.received(rogue, m, now: 2) }
            let actions = c.received(rogue, t.message, now: 3)
            #expect(actions.contains(.close(rogue, reason: t.reason)), "case \(n): \(actions)")
            #expect(!SwarmClientTests.fails(actions) && !c.isFailed, "case \(n)")
            #expect(SwarmClientTests.closed(actions) == [rogue], "case \(n)")
            #expect(c.received(rogue, .ping(1), now: 4) == [], "case \(n): a closed link is forgotten")
            // The others are still heard: the first peer and the seed are answered.
            #expect(c.received(peer, .ping(7), now: 4) == [.send(peer, .pong(7))], "case \(n)")
            #expect(c.received(seed, .ping(8), now: 4) == [.send(seed, .pong(8))], "case \(n)")
        }
    }

    /// Once the manifest is trusted, the seed's violations end the fetch, each with its line,
    /// and every link is closed.
    @Test func theSeedBreakingTheProtocolEndsTheFetch() throws {
        let (_, _, manifest, _) = try SwarmClientTests.clientWithPeer()
        let table = ChunkTable(manifest: manifest)
        let stranger = ChunkID(of: Array("not in the manifest".utf8))
        let cases: [(message: Message, line: String)] = [
            (
                .missing(table.ids[0]),
                "the seed does not have chunk \(table.ids[0]) of \(manifest.paths[0].storePath)"
            ),
            (.error(.busy, "shutting down"), "seed reported busy: shutting down"),
            (.offer([UInt32(table.count)]), "protocol violation: OFFER of chunk \(table.count)"),
            (
                .chunk(stranger, [1]),
                "protocol violation: the seed sent CHUNK \(stranger), which is not in the manifest"
            ),
            (Self.hello(1), "protocol violation: unexpected hello from the seed"),
        ]
        for (n, t) in cases.enumerated() {
            var (c, peer, _, seed) = try SwarmClientTests.clientWithPeer()
            let actions = c.received(seed, t.message, now: 1)
            #expect(actions.first == .fail(t.line), "case \(n): \(actions)")
            #expect(
                Array(actions.dropFirst()) == [seed, peer].sorted().map { .close($0, reason: "failed") }, "case \(n)")
            #expect(c.isFailed)
            #expect(c.received(peer, .ping(1), now: 2) == [] && c.tick(now: 100_000) == [], "case \(n): nothing after")
        }
    }

    /// Two links to one node (each side dialled the other at once): both sides keep the link that
    /// the smaller node id opened, so they keep the same one.
    @Test func ofTwoLinksToOneNodeTheOneTheSmallerIDOpenedStays() throws {
        // This node's id is 2…2; the other node's is larger (4…4), then smaller (0…0).
        for (other, keepOutgoing) in [(UInt8(4), true), (UInt8(0), false)] {
            var (c, _, _, seed) = try SwarmClientTests.clientWithPeer()
            let address = PeerAddress(ip: [10, 0, 0, 9], port: 7021)!
            let dialled = SwarmClientTests.dialled(
                c.received(
                    seed,
                    .peers([PeerEntry(address: address, nodeID: [UInt8](repeating: other, count: 16), complete: false)]
                    ),
                    now: 1))
            let outgoing = try #require(dialled.first)
            _ = c.connected(outgoing, now: 2)
            let incoming = Self.acceptPeer(&c, node: other, now: 3)
            let actions = c.received(outgoing, Self.hello(other), now: 4)
            let dropped = keepOutgoing ? incoming : outgoing
            #expect(actions.contains(.close(dropped, reason: "duplicate link")), "node \(other): \(actions)")
            let kept = keepOutgoing ? outgoing : incoming
            #expect(c.received(kept, .ping(3), now: 5) == [.send(kept, .pong(3))], "node \(other)")
            #expect(c.received(dropped, .ping(3), now: 5) == [], "node \(other)")
        }
    }
}
