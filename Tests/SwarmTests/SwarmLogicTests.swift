// The swarm's pure parts event by event: bitfields, the tracker, the seed's super-seeding
// scheduler, the chunk picker, the token bucket, and the simulation's determinism.
import NixFormats
import Simulation
import Sodium
import Swarm
import Testing

@Suite struct SwarmLogicTests {
    /// A table of `count` chunks of 1 KiB... from a manifest of one path per chunk.
    static func table(_ count: Int) throws -> ChunkTable {
        var rng = SplitMix64(seed: 9)
        let m = try SyntheticClosure.manifest(
            pathCount: count, totalBytes: UInt64(count) * 1000, chunkSize: 65536, using: &rng)
        return ChunkTable(manifest: m)
    }

    @Test func bitfieldRefusesWrongLengthsAndSpareBits() {
        #expect(Bitfield(count: 10, bytes: [0xA0, 0x40]) != nil)
        #expect(Bitfield(count: 10, bytes: [0xA0, 0x60]) == nil)  // bit 10 is a spare bit
        #expect(Bitfield(count: 10, bytes: [0xA0]) == nil)
        #expect(Bitfield(count: 16, bytes: [0xFF, 0xFF])?.isComplete == true)
        var b = Bitfield(count: 3)
        let inserted = b.insert(1)
        let again = b.insert(1)
        #expect(inserted && !again && b.setCount == 1 && b[1] && !b[0])
    }

    /// A tracker with one open swarm of `chunks` chunks, and that swarm's id.
    static func tracker(_ chunks: Int) throws -> (Tracker, Digest256) {
        var tracker = Tracker()
        let id = Blake2b256.hash([1])
        tracker.open(id, table: try table(chunks))
        return (tracker, id)
    }

    @Test func trackerCountsHoldersAndListsCompletedPeersFirst() throws {
        var (tracker, id) = try Self.tracker(4)
        let a = PeerAddress(host: "10.0.0.1", port: 1)!
        let b = PeerAddress(host: "10.0.0.2", port: 1)!
        let results = [
            tracker.join(connection: 1, nodeID: [1], address: a, manifest: id, bits: Bitfield(count: 4)),
            tracker.join(connection: 2, nodeID: [2], address: b, manifest: id, bits: .full(count: 4)),
            tracker.join(connection: 3, nodeID: [3], address: nil, manifest: id, bits: Bitfield(count: 5)),
            tracker.join(connection: 3, nodeID: [3], address: nil, manifest: id, bits: Bitfield(count: 4)),
            tracker.have(connection: 1, [0, 2]),
            tracker.have(connection: 1, [4]),
        ]
        // A bitfield of the wrong size and an index out of range are refused.
        #expect(results == [true, true, false, true, true, false])
        #expect(tracker.swarms[id]!.holders == [2, 1, 2, 1])
        var rng = SplitMix64(seed: 1)
        // Completed first; a member that does not serve (no address) is never listed.
        #expect(tracker.peers(for: 3, max: 10, using: &rng).map(\.nodeID) == [[2], [1]])
        tracker.leave(connection: 2)
        #expect(tracker.swarms[id]!.holders == [1, 0, 1, 0])
        #expect(tracker.peers(for: 3, max: 10, using: &rng).map(\.nodeID) == [[1]])
    }

    @Test func aReportedNodeIsNeitherListedNorCountedAsAHolder() throws {
        var (tracker, id) = try Self.tracker(4)
        let liar = PeerAddress(host: "10.0.0.9", port: 1)!
        let honest = PeerAddress(host: "10.0.0.2", port: 1)!
        _ = tracker.join(connection: 1, nodeID: [9], address: liar, manifest: id, bits: .full(count: 4))
        _ = tracker.join(connection: 2, nodeID: [2], address: honest, manifest: id, bits: Bitfield(count: 4))
        #expect(tracker.swarms[id]!.holders == [1, 1, 1, 1] && tracker.swarms[id]!.serving == 2)
        tracker.report([[9]])
        #expect(tracker.swarms[id]!.holders == [0, 0, 0, 0] && tracker.swarms[id]!.serving == 1)
        var rng = SplitMix64(seed: 1)
        #expect(tracker.peers(for: 2, max: 10, using: &rng).isEmpty)
        // An honest HAVE counts; the liar leaving and joining again (same node id) does not.
        let grew = tracker.have(connection: 2, [1])
        #expect(grew)
        tracker.leave(connection: 1)
        _ = tracker.join(connection: 3, nodeID: [9], address: liar, manifest: id, bits: .full(count: 4))
        #expect(tracker.swarms[id]!.holders == [0, 1, 0, 0] && tracker.swarms[id]!.serving == 1)
    }

    @Test func seedHandsEachChunkToOneMemberWhilePeersExist() throws {
        let t = try Self.table(6)
        var s = SeedScheduler(table: t)
        let none = Bitfield(count: 6)
        var holders = [UInt16](repeating: 0, count: 6)
        let first = s.offer(
            to: 1, holding: none, holders: holders, others: 1, count: 2, bytes: 1 << 20, now: 0)
        let second = s.offer(
            to: 2, holding: none, holders: holders, others: 1, count: 2, bytes: 1 << 20, now: 0)
        #expect(first == [0, 1])
        #expect(second == [2, 3])  // not what is on its way to member 1
        // Member 1 confirms chunk 0: a holder now, so nobody gets it from the seed.
        s.confirmed(1, [0], now: 0)
        holders[0] = 1
        let third = s.offer(
            to: 2, holding: none, holders: holders, others: 1, count: 6, bytes: 1 << 20, now: 0)
        #expect(third == [4, 5])
        // Member 2 leaves: its chunks on the way (2…5) may be handed out again.
        s.left(2)
        var holdsZero = none
        holdsZero.insert(0)
        let fourth = s.offer(
            to: 1, holding: holdsZero, holders: holders, others: 0, count: 6, bytes: 1 << 20, now: 0)
        // Alone: anything it lacks and is not already getting (chunk 1 is on its way to it).
        #expect(fourth == [2, 3, 4, 5])
        #expect(s.sentCount == [1, 1, 2, 2, 2, 2])
    }

    @Test func seedKeepsFewChunksOnTheirWayWhilePeersExist() throws {
        let t = try Self.table(6)
        let two = UInt64(t.sizes[0]) + UInt64(t.sizes[1])
        var s = SeedScheduler(table: t, maxBytesInFlight: two)
        let none = Bitfield(count: 6)
        let holders = [UInt16](repeating: 0, count: 6)
        let first = s.offer(
            to: 1, holding: none, holders: holders, others: 3, count: 6, bytes: 1 << 20, now: 0)
        #expect(first == [0, 1])  // the cap, not the member's budget
        #expect(
            s.offer(to: 2, holding: none, holders: holders, others: 3, count: 6, bytes: 1 << 20, now: 0)
                .isEmpty)
        s.confirmed(1, [0], now: 0)  // one landed: room for about one more
        #expect(
            s.offer(to: 2, holding: none, holders: holders, others: 3, count: 6, bytes: 1 << 20, now: 0) == [
                2
            ])
        // Members 1 and 2 confirm nothing more for 2 s: stuck. They stop holding member 3 back,
        // and get nothing more themselves until they confirm.
        s.expire(now: 1999)
        #expect(
            s.offer(to: 3, holding: none, holders: holders, others: 3, count: 6, bytes: 1 << 20, now: 1999)
                .isEmpty)
        s.expire(now: 2000)
        #expect(
            s.offer(to: 2, holding: none, holders: holders, others: 3, count: 6, bytes: 1 << 20, now: 2000)
                .isEmpty)
        #expect(
            s.offer(to: 3, holding: none, holders: holders, others: 3, count: 6, bytes: 1 << 20, now: 2000)
                == [3])
        // A member alone is not capped: the seed is all it has.
        var alone = SeedScheduler(table: t, maxBytesInFlight: two)
        #expect(
            alone.offer(to: 1, holding: none, holders: holders, others: 0, count: 6, bytes: 1 << 20, now: 0)
                .count
                == 6)
    }

    /// A seed of the fixture manifest (3 chunks: 64 KiB, 4464 B, 120 B) whose in-flight cap (1
    /// byte) allows one chunk on its way, and members 1… joined holding `holdings`.
    static func cappedSeed(_ holdings: [Bitfield]) throws -> (SeedCore, SignedManifest) {
        let signed = SignedManifest.sign(try Fixtures.manifest(), with: [try Fixtures.key()])
        var catalog = ManifestCatalog()
        try catalog.add(signed)
        var core = SeedCore(
            catalog: catalog, hello: Hello(role: .seed, nodeID: [0], listenPort: 7020), randomSeed: 1,
            maxBytesInFlight: 1)
        for (i, bits) in holdings.enumerated() {
            let c = i + 1
            core.accepted(c, remote: PeerAddress(host: "10.0.0.\(c)", port: 0))
            _ = core.received(c, .hello(Hello(role: .agent, nodeID: [UInt8(c)], listenPort: 7021)), now: 0)
            _ = core.received(c, .bitfield(manifest: signed.id, bits), now: 0)
        }
        return (core, signed)
    }

    /// Swarm messages out of order or out of range end that member's connection, with an ERROR
    /// saying why, and no one else's; a BITFIELD for a manifest the seed does not serve is
    /// answered NOT_FOUND.
    @Test func seedRefusesSwarmMessagesOutOfOrder() throws {
        var (core, _) = try Self.cappedSeed([Bitfield(count: 3)])
        core.accepted(5, remote: PeerAddress(host: "10.0.0.5", port: 0))
        _ = core.received(5, .hello(Hello(role: .agent, nodeID: [5], listenPort: 7021)), now: 0)
        let early = "REQUEST_ANY before BITFIELD"
        #expect(
            core.received(5, .requestAny(count: 8, bytes: 1 << 20), now: 0) == [
                .send(5, .error(.protocolViolation, early)), .close(5, reason: early),
            ])
        let outside = "HAVE outside the announced swarm"
        #expect(
            core.received(1, .have([7]), now: 1) == [
                .send(1, .error(.protocolViolation, outside)), .close(1, reason: outside),
            ])
        core.accepted(6, remote: PeerAddress(host: "10.0.0.6", port: 0))
        _ = core.received(6, .hello(Hello(role: .agent, nodeID: [6], listenPort: 7021)), now: 2)
        let unknown = try #require(Digest256(bytes: [UInt8](repeating: 9, count: 32)))
        #expect(
            core.received(6, .bitfield(manifest: unknown, Bitfield(count: 3)), now: 2) == [
                .send(6, .error(.notFound, "no swarm for that manifest and bitfield"))
            ])
    }

    /// A REQUEST_ANY may ask for up to 65 535 chunks, but an OFFER lists at most 256 (a longer
    /// one was refused by the asker's own decoder, which then dropped its seed link).
    @Test func anOfferListsAtMost256Chunks() throws {
        var rng = SplitMix64(seed: 3)
        let manifest = try SyntheticClosure.manifest(
            pathCount: 400, totalBytes: 400 * 1000, chunkSize: 65536, using: &rng)
        let signed = SignedManifest.sign(manifest, with: [try SyntheticClosure.key()])
        var catalog = ManifestCatalog()
        try catalog.add(signed)
        var core = SeedCore(catalog: catalog, hello: Hello(role: .seed, nodeID: [0], listenPort: 7020), randomSeed: 1)
        core.accepted(1, remote: PeerAddress(host: "10.0.0.1", port: 0))
        _ = core.received(1, .hello(Hello(role: .agent, nodeID: [1], listenPort: 0)), now: 0)
        _ = core.received(
            1, .bitfield(manifest: signed.id, Bitfield(count: ChunkTable(manifest: manifest).count)), now: 0)
        let answer = core.received(1, .requestAny(count: 1000, bytes: 1 << 30), now: 0)
        guard case .send(1, .offer(let offered)) = answer.first else {
            Issue.record("no OFFER: \(answer)")
            return
        }
        #expect(offered.count == 256)
        var decoder = FrameDecoder()
        decoder.append(FrameCodec.encode(.offer(offered)))
        #expect(try decoder.next() == .offer(offered))
    }

    @Test func seedAnswersAHeldBackRequestAnyWhenAHaveMakesRoom() throws {
        var (core, _) = try Self.cappedSeed([Bitfield(count: 3), Bitfield(count: 3)])
        // The cap (1 byte) allows one chunk on its way: member 1 gets it, member 2 waits.
        let first = core.received(1, .requestAny(count: 8, bytes: 1 << 20), now: 0)
        #expect(first.first == .send(1, .offer([0])))
        #expect(core.received(2, .requestAny(count: 8, bytes: 1 << 20), now: 0).isEmpty)
        // Member 1 confirms chunk 0: member 2's request is answered now, with another chunk.
        #expect(core.received(1, .have([0]), now: 0).first == .send(2, .offer([1])))
        // Member 1 asks again and waits behind chunk 1. Member 2 leaves: member 1, alone now, is
        // answered with all it lacks, the never-sent chunk first.
        #expect(core.received(1, .requestAny(count: 8, bytes: 1 << 20), now: 0).isEmpty)
        #expect(core.closed(2).first == .send(1, .offer([2, 1])))
    }

    /// At the cap, the member that holds the fewest chunks is answered first, not the oldest.
    @Test func seedAnswersTheMemberFurthestBehindFirst() throws {
        var holdsTwo = Bitfield(count: 3)
        _ = holdsTwo.insert(2)
        var (core, _) = try Self.cappedSeed([Bitfield(count: 3), holdsTwo, Bitfield(count: 3)])
        #expect(core.received(1, .requestAny(count: 8, bytes: 1 << 20), now: 0).first == .send(1, .offer([0])))
        #expect(core.received(2, .requestAny(count: 8, bytes: 1 << 20), now: 1).isEmpty)
        #expect(core.received(3, .requestAny(count: 8, bytes: 1 << 20), now: 2).isEmpty)
        // Room again: member 3 (holding nothing) before member 2 (holding one), though it asked later.
        #expect(core.received(1, .have([0]), now: 3).first == .send(3, .offer([1])))
    }

    /// A REPORT names a node for the seed's log once: its first report is an action, a repeat
    /// (another member met the same liar) is not; the node is suspect from the first.
    @Test func aReportedNodeIsNamedOnce() throws {
        var (core, _) = try Self.cappedSeed([Bitfield(count: 3), Bitfield(count: 3), Bitfield(count: 3)])
        #expect(core.received(1, .report([[2]]), now: 0) == [.reported(by: 1, nodeIDs: [[2]])])
        #expect(core.tracker.swarms.values.first?.members[2]?.suspect == true)
        #expect(core.received(3, .report([[2]]), now: 1).isEmpty)
        #expect(core.received(3, .report([[2], [9]]), now: 2) == [.reported(by: 3, nodeIDs: [[9]])])
    }

    /// A manifest of two toplevels (lib, and system which references lib): a member that asked
    /// for its manifest by toplevel is offered the chunks of that closure only; one that asked by
    /// id (a reconnect), any it lacks.
    @Test func seedOffersOnlyTheClosureAskedFor() throws {
        let m = try Fixtures.manifest()
        let (lib, system) = (m.paths[0].storePath, m.paths[1].storePath)
        let both = Manifest(
            layout: m.layout, createdAt: m.createdAt, label: m.label, toplevels: [lib, system], paths: m.paths)
        let signed = SignedManifest.sign(both, with: [try Fixtures.key()])
        var catalog = ManifestCatalog()
        try catalog.add(signed)
        var core = SeedCore(catalog: catalog, hello: Hello(role: .seed, nodeID: [0], listenPort: 7020), randomSeed: 1)
        let selectors: [ManifestSelector] = [.toplevel(lib), .toplevel(system), .id(signed.id)]
        for (i, selector) in selectors.enumerated() {
            let c = i + 1
            core.accepted(c, remote: PeerAddress(host: "10.0.0.\(c)", port: 0))
            _ = core.received(c, .hello(Hello(role: .agent, nodeID: [UInt8(c)], listenPort: 0)), now: 0)
            _ = core.received(c, .getManifest(selector, peersWelcome: false), now: 0)
            _ = core.received(c, .bitfield(manifest: signed.id, Bitfield(count: 3)), now: 0)
        }
        #expect(core.received(1, .requestAny(count: 8, bytes: 1 << 20), now: 1).first == .send(1, .offer([0, 1])))
        // (Never sent before first: chunk 2.)
        #expect(core.received(2, .requestAny(count: 8, bytes: 1 << 20), now: 1).first == .send(2, .offer([2, 0, 1])))
        #expect(core.received(3, .requestAny(count: 8, bytes: 1 << 20), now: 1).first == .send(3, .offer([2, 0, 1])))
        // Member 1 holds all of its closure: nothing more is offered to it.
        _ = core.received(1, .have([0, 1]), now: 2)
        #expect(core.received(1, .requestAny(count: 8, bytes: 1 << 20), now: 3).first == .send(1, .offer([])))
    }

    /// A manifest added while the seed runs (a reload) is served from then on, and its swarm
    /// opens; the one served before keeps its members; adding it twice changes nothing.
    @Test func aManifestAddedLaterIsServed() throws {
        let m = try Fixtures.manifest()
        let first = SignedManifest.sign(m, with: [try Fixtures.key()])
        var later = m
        later.label = "later"
        later.createdAt += 1
        let second = SignedManifest.sign(later, with: [try Fixtures.key()])
        var catalog = ManifestCatalog()
        try catalog.add(first)
        var core = SeedCore(catalog: catalog, hello: Hello(role: .seed, nodeID: [0], listenPort: 7020), randomSeed: 1)
        for c in 1...3 {
            core.accepted(c, remote: PeerAddress(host: "10.0.0.\(c)", port: 0))
            _ = core.received(c, .hello(Hello(role: .agent, nodeID: [UInt8(c)], listenPort: 7021)), now: 0)
        }
        _ = core.received(1, .getManifest(.id(first.id), peersWelcome: false), now: 0)
        _ = core.received(1, .bitfield(manifest: first.id, Bitfield(count: 3)), now: 0)
        let before = core.received(2, .getManifest(.id(second.id), peersWelcome: false), now: 0)
        #expect(before.contains { if case .send(2, .error(.notFound, _)) = $0 { true } else { false } }, "\(before)")
        #expect(try core.add(second)?.signed.id == second.id)
        #expect(try core.add(second) == nil && core.catalog.entries.count == 2)
        #expect(
            core.received(3, .getManifest(.id(second.id), peersWelcome: false), now: 1).first
                == .send(3, .manifest(second.encode())))
        #expect(
            core.received(3, .bitfield(manifest: second.id, Bitfield(count: 3)), now: 1).allSatisfy {
                if case .send(_, .error) = $0 { false } else { true }
            })
        #expect(core.tracker.swarms[second.id]?.members.keys.sorted() == [3])
        #expect(core.tracker.swarms[first.id]?.members.keys.sorted() == [1])
    }

    @Test func seedSendsManifestsBeforeChunks() throws {
        let manifest = try Fixtures.manifest()
        let signed = SignedManifest.sign(manifest, with: [try Fixtures.key()])
        var catalog = ManifestCatalog()
        try catalog.add(signed)
        var core = SeedCore(
            catalog: catalog, hello: Hello(role: .seed, nodeID: [0], listenPort: 7020), randomSeed: 1)
        for c in 1...5 {
            core.accepted(c, remote: PeerAddress(host: "10.0.0.\(c)", port: 0))
            _ = core.received(c, .hello(Hello(role: .agent, nodeID: [UInt8(c)], listenPort: 7021)), now: 0)
        }
        #expect(
            core.received(1, .getManifest(.id(signed.id), peersWelcome: false), now: 0).first
                == .send(1, .manifest(signed.encode())))
        _ = core.received(1, .bitfield(manifest: signed.id, Bitfield(count: 3)), now: 10)
        // Member 2's manifest is on its way: member 1's request for chunks waits…
        _ = core.received(2, .getManifest(.id(signed.id), peersWelcome: false), now: 20)
        #expect(core.received(1, .requestAny(count: 8, bytes: 1 << 20), now: 30).isEmpty)
        #expect(core.tick(now: 250).isEmpty)
        // …until member 2 joins (its manifest arrived).
        let joined = core.received(2, .bitfield(manifest: signed.id, Bitfield(count: 3)), now: 300)
        #expect(joined.first == .send(1, .offer([0, 1, 2])))
        // Member 3 takes its manifest and never joins: member 2 waits at most 500 ms for it.
        _ = core.received(3, .getManifest(.id(signed.id), peersWelcome: false), now: 1000)
        #expect(core.received(2, .requestAny(count: 8, bytes: 1 << 20), now: 1000).isEmpty)
        #expect(core.tick(now: 1499).isEmpty)
        #expect(core.tick(now: 1500).first == .send(2, .offer([])))  // all on their way to member 1
        // The hold is spent while member 3 still counts: member 4's manifest does not hold again.
        _ = core.received(4, .getManifest(.id(signed.id), peersWelcome: false), now: 1600)
        #expect(!core.received(2, .requestAny(count: 8, bytes: 1 << 20), now: 1600).isEmpty)
        // 2 s after their manifests members 3 and 4 are forgotten: member 5's manifest holds anew.
        _ = core.tick(now: 3600)
        _ = core.received(5, .getManifest(.id(signed.id), peersWelcome: false), now: 3700)
        #expect(core.received(2, .requestAny(count: 8, bytes: 1 << 20), now: 3700).isEmpty)
    }

    @Test func pickerGoesRarestFirstThenEndgame() throws {
        let t = try Self.table(4)
        var wanted = Bitfield(count: 4)
        for i in 0..<4 { wanted.insert(i) }
        var p = ChunkPicker(table: t, wanted: wanted, have: Bitfield(count: 4))
        p.initialRandom = 0
        var rng = SplitMix64(seed: 3)
        let everything = Bitfield.full(count: 4)
        var partial = Bitfield(count: 4)
        partial.insert(1)
        partial.insert(2)
        p.peerHolds(everything)
        p.peerHolds(partial)
        // Chunks 0 and 3 have one holder, 1 and 2 two: the rare ones go first.
        let first = p.pick(from: everything, asked: [:], count: 2, budget: 1 << 20, using: &rng)
        #expect(Set(first) == [0, 3])
        let asked = Dictionary(uniqueKeysWithValues: first.map { ($0, UInt64(0)) })
        let second = p.pick(from: everything, asked: asked, count: 4, budget: 1 << 20, using: &rng)
        #expect(Set(second) == [1, 2])
        // All asked for: endgame lets another peer be asked once more, not the same one twice.
        let again = p.pick(from: partial, asked: [:], count: 4, budget: 1 << 20, using: &rng)
        #expect(Set(again) == [1, 2])
        let none = p.pick(from: partial, asked: [:], count: 4, budget: 1 << 20, using: &rng)
        #expect(none.isEmpty)
        let first1 = p.arrived(1)
        let second1 = p.arrived(1)
        #expect(first1 && !second1)
        #expect(p.missing.count == 3)
    }

    /// The picker keeps its candidates by availability (no scan of every missing chunk); over
    /// random joins, HAVEs, MISSINGs, departures, requests, releases and arrivals, and then to the
    /// endgame, each pick must still be one a scan of every missing chunk would make.
    @Test func pickerChoosesWhatAScanOfEveryChunkWould() throws {
        let n = 120
        var p = ChunkPicker(table: try Self.table(n), wanted: Bitfield.full(count: n), have: Bitfield(count: n))
        p.initialRandom = 0
        var rng = SplitMix64(seed: 11)
        var peers = (0..<4).map { _ in Bitfield(count: n) }
        var asked = [[Int: UInt64]](repeating: [:], count: peers.count)
        var rarestPicks = 0
        var endgamePicks = 0
        func pick(for peer: Int) -> [Int] {
            let bits = peers[peer]
            let free = p.missing.filter { p.requesters[$0] == 0 }
            let held = free.filter { bits[$0] }
            let rarest = held.map { p.availability[$0] }.min()
            let chosen = p.pick(from: bits, asked: asked[peer], count: 1, budget: 1, using: &rng)
            if let rarest {
                #expect(chosen.count == 1 && held.contains(chosen[0]) && p.availability[chosen[0]] == rarest)
                rarestPicks += 1
            } else if !free.isEmpty {
                #expect(chosen.isEmpty)
            } else if let i = chosen.first {
                #expect(bits[i] && asked[peer][i] == nil && p.requesters[i] <= UInt8(p.endgameCopies))
                endgamePicks += 1
            }
            for i in chosen { asked[peer][i] = 0 }
            let unavailable = p.missing.filter { p.requesters[$0] == 0 && p.availability[$0] == 0 }
            #expect(Set(p.unavailable(limit: n)) == Set(unavailable))
            return chosen
        }
        for step in 0..<3000 {
            let peer = Int(rng.next(upperBound: UInt64(peers.count)))
            let chunk = Int(rng.next(upperBound: UInt64(n)))
            switch rng.next(upperBound: UInt64(10)) {
            case 0, 1, 2:
                if peers[peer].insert(chunk) { p.peerHolds(chunk) }
            case 3:
                if peers[peer].remove(chunk) { p.peerLost(chunk) }
            case 4 where step % 7 == 0:
                p.peerLeft(peers[peer])
                for i in asked[peer].keys.sorted() { p.released(i) }
                asked[peer] = [:]
                peers[peer] = Bitfield(count: n)
            case let kind where kind == 5 || kind == 6:
                // Now and then one of the chunks asked of this peer comes (5) or is given up on
                // (6): some are still missing at the end.
                let open = asked[peer].keys.sorted()
                guard !open.isEmpty, chunk % 3 == 0 else { break }
                let i = open[chunk % open.count]
                asked[peer][i] = nil
                p.released(i)
                if kind == 5 { _ = p.arrived(i) }
            default:
                _ = pick(for: peer)
            }
        }
        // The tail: every peer holds every chunk; asking each in turn until none is asked more
        // goes through the endgame.
        for peer in peers.indices {
            for i in 0..<n where peers[peer].insert(i) { p.peerHolds(i) }
        }
        for _ in 0..<(4 * n) {
            guard peers.indices.map({ pick(for: $0) }).contains(where: { !$0.isEmpty }) else { break }
        }
        #expect(rarestPicks > 100 && endgamePicks > 10 && p.requesters.allSatisfy { $0 <= 2 })
        #expect(p.missing.allSatisfy { p.requesters[$0] == UInt8(p.endgameCopies) })
    }

    @Test func aChunkAPeerLostBecomesTheSeedsToSend() throws {
        let t = try Self.table(2)
        var p = ChunkPicker(table: t, wanted: Bitfield.full(count: 2), have: Bitfield(count: 2))
        var only = Bitfield(count: 2)
        only.insert(0)
        p.peerHolds(only)
        #expect(p.unavailable(limit: 8) == [1])
        // The peer answered MISSING for chunk 0 (its store changed): nobody else has it.
        p.peerLost(0)
        #expect(Set(p.unavailable(limit: 8)) == [0, 1])
    }

    @Test func peerAddressesParseIPv4AndIPv6Literals() {
        #expect(PeerAddress(host: "10.0.0.7", port: 1)?.ip == [10, 0, 0, 7])
        #expect(PeerAddress(host: "::1", port: 1)?.ip == [UInt8](repeating: 0, count: 15) + [1])
        #expect(PeerAddress(host: "fd00::1:2", port: 1)?.host == "fd00:0:0:0:0:0:1:2")
        #expect(PeerAddress(host: "1:2:3:4:5:6:7:8", port: 1)?.host == "1:2:3:4:5:6:7:8")
        for bad in ["1::2::3", ":::", "1:2:3", "10.0.0", "10.0.0.256", "1:2:3:4:5:6:7:8:9", "::12345"] {
            #expect(PeerAddress(host: bad, port: 1) == nil, "\(bad)")
        }
    }

    @Test func tokenBucketHoldsTheRate() {
        var b = TokenBucket(bytesPerSecond: 1000, burst: 500, now: 0)
        let waits = [b.take(400, now: 0), b.take(400, now: 0), b.take(1, now: 0), b.take(1, now: 300)]
        // The second take goes 300 bytes into debt; paying it back takes 300 ms.
        #expect(waits == [0, 0, 300, 0])
    }

    @Test func simulationIsDeterministicAndFinishes() throws {
        var p = SimulationParameters()
        p.clients = 6
        p.closureMiB = 8
        p.paths = 40
        p.chunkSize = 256 * 1024
        p.randomSeed = 42
        var a = try Simulator(p)
        var b = try Simulator(p)
        let ra = a.run()
        let rb = b.run()
        #expect(ra == rb)
        #expect(ra.unfinished == 0 && ra.failures.isEmpty)
        // Super-seeding: raven sends the closure once; the rest comes from peers.
        #expect(ra.seedOverClosure < 1.05)
        #expect(ra.slowestOverTMin >= 1 && ra.slowestOverTMin < 2)
        p.randomSeed = 43
        var c = try Simulator(p)
        let rc = c.run()
        #expect(rc.completions != ra.completions)
    }
}

@Suite struct ReorderBufferTests {
    /// Hashes finish in any order; verdicts leave in the order the chunks came.
    @Test func releasesInTicketOrder() {
        var buffer = ReorderBuffer<String>()
        let a = buffer.take()
        let b = buffer.take()
        let c = buffer.take()
        #expect(buffer.finish(c, "c") == [])
        #expect(buffer.finish(b, "b") == [])
        #expect(buffer.finish(a, "a") == ["a", "b", "c"])
        let d = buffer.take()
        #expect(buffer.finish(d, "d") == ["d"])
    }
}
