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

    @Test func trackerCountsHoldersAndListsCompletedPeersFirst() throws {
        let t = try Self.table(4)
        var tracker = Tracker()
        let id = Blake2b256.hash([1])
        tracker.open(id, table: t)
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

    @Test func seedHandsEachChunkToOneMemberWhilePeersExist() throws {
        let t = try Self.table(6)
        var s = SeedScheduler(chunkCount: 6)
        let none = Bitfield(count: 6)
        var holders = [UInt16](repeating: 0, count: 6)
        let first = s.offer(to: 1, holding: none, table: t, holders: holders, others: 1, count: 2, bytes: 1 << 20)
        let second = s.offer(to: 2, holding: none, table: t, holders: holders, others: 1, count: 2, bytes: 1 << 20)
        #expect(first == [0, 1])
        #expect(second == [2, 3])  // not what is on its way to member 1
        // Member 1 confirms chunk 0: a holder now, so nobody gets it from the seed.
        s.confirmed(1, [0])
        holders[0] = 1
        let third = s.offer(to: 2, holding: none, table: t, holders: holders, others: 1, count: 6, bytes: 1 << 20)
        #expect(third == [4, 5])
        // Member 2 leaves: its chunks on the way (2…5) may be handed out again.
        s.left(2)
        var holdsZero = none
        holdsZero.insert(0)
        let fourth = s.offer(to: 1, holding: holdsZero, table: t, holders: holders, others: 0, count: 6, bytes: 1 << 20)
        // Alone: anything it lacks and is not already getting (chunk 1 is on its way to it).
        #expect(fourth == [2, 3, 4, 5])
        #expect(s.sentCount == [1, 1, 2, 2, 2, 2])
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
