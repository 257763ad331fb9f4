// The fetching node's clocks (SPEC §7), driven by `tick` with time as an input: a seed that
// never sends the manifest, a fetch that stops moving, and a link that stops delivering.
import NixFormats
import Swarm
import Testing

@Suite struct SwarmClientTimeoutTests {
    /// A seed that takes the connection and never sends the manifest ends the fetch once the
    /// handshake time has passed since the start, with one line that names it.
    @Test func aSeedThatNeverSendsTheManifestEndsTheFetch() throws {
        let manifest = try Fixtures.manifest()
        var c = SwarmClient(
            configuration: SwarmClient.Configuration(), seed: SwarmClientTests.seedAddress,
            nodeID: [UInt8](repeating: 2, count: 16), toplevel: manifest.toplevels[0],
            trustedKeys: [try Fixtures.key().publicKey], randomSeed: 1)
        let seed = try #require(SwarmClientTests.dialled(c.start(now: 0)).first)
        _ = c.connected(seed, now: 0)
        _ = c.received(
            seed, .hello(Hello(role: .seed, nodeID: [UInt8](repeating: 1, count: 16), listenPort: 7020)), now: 5)
        #expect(c.tick(now: 10_000) == [])
        #expect(
            c.tick(now: 10_001) == [
                .fail("the seed at 127.0.0.1:7020 did not answer for 10 s"), .close(seed, reason: "failed"),
            ])
        #expect(c.isFailed && c.tick(now: 20_000) == [])
    }

    /// Planned, then nothing arrives from anyone: the fetch ends after the idle time, counted
    /// from the last verified chunk.
    @Test func aFetchThatStopsMovingEndsAfterTheIdleTime() throws {
        var (c, peer, _, seed) = try SwarmClientTests.clientWithPeer()
        _ = c.received(seed, .offer([0]), now: 1)
        _ = c.chunkArrived(seed, index: 0, data: [1][...], intact: true, now: 20_000)
        #expect(!SwarmClientTests.fails(c.tick(now: 50_000)))
        #expect(
            c.tick(now: 50_001) == [
                .fail("no progress for 30 s (the seed at 127.0.0.1:7020 is unreachable)"),
                .close(seed, reason: "failed"), .close(peer, reason: "failed"),
            ])
    }

    /// A link with requests out that delivers nothing for the stall time gives them back (they
    /// are asked again); a peer that does so twice in a row is dropped, the seed never is.
    @Test func aStalledLinkGivesBackItsChunksAndAPeerIsDroppedAtTheSecondStall() throws {
        // A budget for every chunk at once: the peer is asked for all of them.
        var (c, peer, manifest, seed) = try SwarmClientTests.clientWithPeer { $0.peerBudgetBytes = 1 << 20 }
        let table = ChunkTable(manifest: manifest)
        let manifestID = try #require(c.manifestID)
        let asked = SwarmClientTests.requests(
            c.received(peer, .bitfield(manifest: manifestID, Bitfield.full(count: table.count)), now: 1), on: peer)
        try #require(Set(asked) == Set(table.ids))
        let quiet = c.tick(now: 4001)
        #expect(c.statistics.stalls == 0 && SwarmClientTests.requests(quiet, on: peer).isEmpty, "\(quiet)")
        let first = c.tick(now: 4002)
        #expect(c.statistics.stalls == 1)
        #expect(Set(SwarmClientTests.requests(first, on: peer)) == Set(asked), "given back, asked again: \(first)")
        #expect(SwarmClientTests.closed(first).isEmpty)
        let second = c.tick(now: 8003)
        #expect(c.statistics.stalls == 2)
        #expect(second.contains(.close(peer, reason: "stalled")), "\(second)")
        #expect(!c.isFailed)

        // The seed stalls as often, and stays.
        _ = c.received(seed, .offer([1]), now: 8003)
        #expect(SwarmClientTests.closed(c.tick(now: 12_004)).isEmpty)
        #expect(SwarmClientTests.closed(c.tick(now: 16_005)).isEmpty)
        #expect(c.statistics.stalls == 4)
        #expect(c.received(seed, .ping(9), now: 16_006) == [.send(seed, .pong(9))])
    }
}
