// Manifests from peers (SPEC §6a): the seed sends a boot wave only a few manifests and names the
// members that hold it to the rest; a client fetches it from them, refusing any manifest that is
// not the one asked for, and falls back to the seed.
import NixFormats
import Sodium
import Swarm
import Testing

@Suite struct ManifestFromPeersTests {
    static func address(_ c: Int) -> PeerAddress { PeerAddress(host: "10.0.0.\(c)", port: 7021)! }
    static func node(_ c: Int) -> [UInt8] { [UInt8](repeating: UInt8(c), count: 16) }

    @Test func theSeedNamesHoldersOnceTwoManifestsAreOnTheirWay() throws {
        let signed = SignedManifest.sign(try Fixtures.manifest(), with: [try Fixtures.key()])
        let top = try Fixtures.manifest().toplevels[0]
        var catalog = ManifestCatalog()
        try catalog.add(signed)
        var core = SeedCore(catalog: catalog, hello: Hello(role: .seed, nodeID: [0], listenPort: 7020), randomSeed: 1)
        core.maxReferralsPerHolder = 2
        for c in 1...9 {
            core.accepted(c, remote: PeerAddress(host: "10.0.0.\(c)", port: 0))
            _ = core.received(c, .hello(Hello(role: .agent, nodeID: Self.node(c), listenPort: 7021)), now: 0)
        }
        let ask = Message.getManifest(.toplevel(top), peersWelcome: true)
        #expect(core.received(1, ask, now: 0) == [.send(1, .manifest(signed.encode()))])
        #expect(core.received(2, ask, now: 0) == [.send(2, .manifest(signed.encode()))])
        // Two are on their way and nobody holds it yet: member 3 waits, at most 250 ms.
        #expect(core.received(3, ask, now: 0).isEmpty)
        #expect(core.tick(now: 249).isEmpty)
        #expect(core.tick(now: 250) == [.send(3, .manifest(signed.encode()))])
        #expect(core.received(4, ask, now: 260).isEmpty)
        // Member 1 joins: it holds the manifest, and member 4 is sent to it.
        let joined = core.received(1, .bitfield(manifest: signed.id, Bitfield(count: 3)), now: 300)
        let one = PeerEntry(address: Self.address(1), nodeID: Self.node(1), complete: false)
        let two = PeerEntry(address: Self.address(2), nodeID: Self.node(2), complete: false)
        #expect(joined == [.send(4, .manifestPeers(signed.id, [one]))])
        // With two holders, the one sent fewer clients comes first.
        _ = core.received(2, .bitfield(manifest: signed.id, Bitfield(count: 3)), now: 310)
        #expect(core.received(5, ask, now: 320) == [.send(5, .manifestPeers(signed.id, [two, one]))])
        // A member is sent two askers at a time (here); with none free, raven sends the manifest itself
        // while fewer than two are on their way from it (member 3's still is).
        #expect(core.received(6, ask, now: 330) == [.send(6, .manifestPeers(signed.id, [one, two]))])
        #expect(core.received(7, ask, now: 330) == [.send(7, .manifestPeers(signed.id, [two, one]))])
        #expect(core.received(8, ask, now: 340) == [.send(8, .manifest(signed.encode()))])
        #expect(core.received(9, ask, now: 350).isEmpty)
        // Member 4 joins: a holder with room, and member 1 has room again.
        let four = PeerEntry(address: Self.address(4), nodeID: Self.node(4), complete: false)
        let joined4 = core.received(4, .bitfield(manifest: signed.id, Bitfield(count: 3)), now: 360)
        #expect(joined4 == [.send(9, .manifestPeers(signed.id, [four, one, two]))])
        // Without peers welcome (member 5 did not get it from member 2): always the manifest.
        let byID = Message.getManifest(.id(signed.id), peersWelcome: false)
        #expect(core.received(5, byID, now: 370) == [.send(5, .manifest(signed.encode()))])
    }

    /// A client whose seed named two holders: the first serves a manifest for another system
    /// (signed by the same key), the second the right one.
    @Test func aClientTakesTheManifestFromANamedPeerAndRefusesAnyOther() throws {
        let manifest = try Fixtures.manifest()
        let key = try Fixtures.key()
        let signed = SignedManifest.sign(manifest, with: [key])
        var other = manifest
        other.toplevels = [manifest.paths[0].storePath]
        let otherSigned = SignedManifest.sign(other, with: [key])
        var c = SwarmClient(
            configuration: SwarmClient.Configuration(), seed: SwarmClientTests.seedAddress, nodeID: Self.node(9),
            toplevel: manifest.toplevels[0], trustedKeys: [key.publicKey], randomSeed: 1)
        let seedLink = try #require(SwarmClientTests.dialled(c.start(now: 0)).first)
        #expect(
            c.connected(seedLink, now: 0).contains(
                .send(seedLink, .getManifest(.toplevel(manifest.toplevels[0]), peersWelcome: true))))
        _ = c.received(seedLink, .hello(Hello(role: .seed, nodeID: Self.node(1), listenPort: 7020)), now: 0)
        let holders = [2, 3].map { PeerEntry(address: Self.address($0), nodeID: Self.node($0), complete: false) }
        let first = try #require(
            SwarmClientTests.dialled(c.received(seedLink, .manifestPeers(signed.id, holders), now: 5)).first)
        #expect(
            c.connected(first, now: 6) == [
                .send(first, .hello(Hello(role: .agent, nodeID: Self.node(9), listenPort: 0))),
                .send(first, .getManifest(.id(signed.id), peersWelcome: false)),
            ])
        _ = c.received(first, .hello(Hello(role: .agent, nodeID: Self.node(2), listenPort: 7021)), now: 7)
        let refused = c.received(first, .manifest(otherSigned.encode()), now: 8)
        #expect(refused.first == .close(first, reason: "manifest refused"))
        #expect(c.manifest == nil && !c.isFailed)
        let second = try #require(SwarmClientTests.dialled(refused).first)
        _ = c.connected(second, now: 9)
        let taken = c.received(second, .manifest(signed.encode()), now: 10)
        #expect(taken == [.close(second, reason: "manifest arrived"), .verified(manifest, signed.id)])
        // It serves the manifest to the next newcomer that asks for it by id, and nothing else.
        _ = c.plan(wantedPaths: [0, 1], holding: [], now: 11)
        let newcomer = c.newConnectionID()
        _ = c.accepted(newcomer, now: 12)
        _ = c.received(newcomer, .hello(Hello(role: .agent, nodeID: Self.node(4), listenPort: 7021)), now: 12)
        #expect(
            c.received(newcomer, .getManifest(.id(signed.id), peersWelcome: false), now: 13) == [
                .send(newcomer, .manifest(signed.encode()))
            ])
        #expect(
            c.received(newcomer, .getManifest(.id(otherSigned.id), peersWelcome: false), now: 13) == [
                .send(newcomer, .error(.notFound, "no such manifest"))
            ])
    }

    /// Named peers that fail (unreachable, silent) send the client back to the seed, by id.
    @Test func withNoPeerToGiveItTheClientAsksTheSeedByID() throws {
        let manifest = try Fixtures.manifest()
        let key = try Fixtures.key()
        let signed = SignedManifest.sign(manifest, with: [key])
        var c = SwarmClient(
            configuration: SwarmClient.Configuration(), seed: SwarmClientTests.seedAddress, nodeID: Self.node(9),
            toplevel: manifest.toplevels[0], trustedKeys: [key.publicKey], randomSeed: 1)
        let seedLink = try #require(SwarmClientTests.dialled(c.start(now: 0)).first)
        _ = c.connected(seedLink, now: 0)
        _ = c.received(seedLink, .hello(Hello(role: .seed, nodeID: Self.node(1), listenPort: 7020)), now: 0)
        let holders = [2, 3].map { PeerEntry(address: Self.address($0), nodeID: Self.node($0), complete: false) }
        let first = try #require(
            SwarmClientTests.dialled(c.received(seedLink, .manifestPeers(signed.id, holders), now: 0)).first)
        let second = try #require(SwarmClientTests.dialled(c.connectFailed(first, reason: "refused", now: 1)).first)
        _ = c.connected(second, now: 2)
        #expect(c.tick(now: 1000).isEmpty, "1 s is allowed")
        #expect(
            c.tick(now: 1003) == [
                .close(second, reason: "no manifest in time"),
                .send(seedLink, .getManifest(.id(signed.id), peersWelcome: false)),
            ])
        // The seed's answer by id must be the manifest it named.
        var other = manifest
        other.label = "another generation"
        let refused = c.received(seedLink, .manifest(SignedManifest.sign(other, with: [key]).encode()), now: 1010)
        #expect(
            refused == [.fail("manifest refused: not the manifest the seed named"), .close(seedLink, reason: "failed")])
    }
}
