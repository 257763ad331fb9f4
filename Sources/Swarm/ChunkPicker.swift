// Which chunk to ask a given peer for next: a few random chunks first (so a newcomer soon has
// something to trade), then rarest first among the peers this client sees, each chunk asked of
// one peer at a time; at the tail (every missing chunk asked for) up to `endgameCopies`
// requests per chunk from different peers, so one slow peer cannot hold the last chunk.

public struct ChunkPicker: Sendable {
    public let table: ChunkTable
    /// Chunks this client needs (those of the paths it fetches).
    public let wanted: Bitfield
    /// Chunks this client holds, verified (servable).
    public private(set) var have: Bitfield
    /// Wanted chunks not yet held, in no order; `position` finds one in it.
    public private(set) var missing: [Int] = []
    private var position: [Int32]
    /// Open requests per chunk, over all connections.
    public private(set) var requesters: [UInt8]
    /// How many connected peers hold each chunk.
    public private(set) var availability: [UInt16]
    /// Missing chunks nobody has been asked for, by `availability`.
    private var unrequested: AvailabilityBuckets
    /// Random picks before rarest first.
    public var initialRandom = 4
    public var endgameCopies = 2
    private var fetched = 0

    public init(table: ChunkTable, wanted: Bitfield, have: Bitfield) {
        self.table = table
        self.wanted = wanted
        self.have = have
        position = [Int32](repeating: -1, count: table.count)
        requesters = [UInt8](repeating: 0, count: table.count)
        availability = [UInt16](repeating: 0, count: table.count)
        unrequested = AvailabilityBuckets(chunks: table.count)
        for i in 0..<table.count where wanted[i] && !have[i] {
            position[i] = Int32(missing.count)
            missing.append(i)
            unrequested.insert(i, availability: 0)
        }
    }

    public var isComplete: Bool { missing.isEmpty }

    /// A verified chunk arrived. False when it was already held (a duplicate).
    public mutating func arrived(_ index: Int) -> Bool {
        guard have.insert(index) else { return false }
        let p = Int(position[index])
        if p >= 0 {
            let last = missing.removeLast()
            if last != index {
                missing[p] = last
                position[last] = Int32(p)
            }
            position[index] = -1
            fetched += 1
            unrequested.remove(index, availability: Int(availability[index]))
        }
        return true
    }

    public mutating func requested(_ index: Int) {
        if requesters[index] == 0 { unrequested.remove(index, availability: Int(availability[index])) }
        requesters[index] &+= 1
    }

    public mutating func released(_ index: Int) {
        guard requesters[index] > 0 else { return }
        requesters[index] -= 1
        if requesters[index] == 0 && position[index] >= 0 {
            unrequested.insert(index, availability: Int(availability[index]))
        }
    }

    public mutating func peerHolds(_ bits: Bitfield) {
        for i in 0..<bits.count where bits[i] { peerHolds(i) }
    }

    public mutating func peerHolds(_ index: Int) {
        let old = availability[index]
        availability[index] &+= 1
        unrequested.move(index, from: Int(old), to: Int(availability[index]))
    }

    /// A peer said it no longer has chunk `index` (MISSING).
    public mutating func peerLost(_ index: Int) {
        guard availability[index] > 0 else { return }
        availability[index] -= 1
        unrequested.move(index, from: Int(availability[index]) + 1, to: Int(availability[index]))
    }

    public mutating func peerLeft(_ bits: Bitfield) {
        for i in 0..<bits.count where bits[i] { peerLost(i) }
    }

    /// Up to `count` chunks (about `budget` bytes, at least one) to request from a peer holding
    /// `bits` (counted in `availability`: `peerHolds`), skipping those already asked of it (`asked`).
    public mutating func pick(
        from bits: Bitfield, asked: [Int: UInt64], count: Int, budget: UInt64,
        using rng: inout some RandomNumberGenerator
    ) -> [Int] {
        var chosen: [Int] = []
        var bytes: UInt64 = 0
        while chosen.count < count {
            guard let i = best(from: bits, asked: asked, chosen: chosen, rng: &rng) else { break }
            let size = UInt64(table.sizes[i])
            if !chosen.isEmpty && bytes + size > budget { break }
            bytes += size
            chosen.append(i)
            requested(i)
        }
        return chosen
    }

    /// Chunks nobody has been asked for, that no connected peer holds (candidates for the seed).
    public func unavailable(limit: Int) -> [Int] {
        unrequested.buckets[0].prefix(limit).map { Int($0) }
    }

    private func best(from bits: Bitfield, asked: [Int: UInt64], chosen: [Int], rng: inout some RandomNumberGenerator)
        -> Int?
    {
        var pick: Int?
        var ties = 0
        let random = fetched < initialRandom
        // Rarest first: the fewest holders wins, ties broken uniformly (reservoir sampling); the
        // first few picks are uniform over all. A chunk the peer holds has a holder: bucket 0 is
        // skipped.
        for bucket in unrequested.buckets.dropFirst() {
            for i32 in bucket where bits[Int(i32)] {
                ties += 1
                if ties == 1 || rng.next(upperBound: UInt64(ties)) == 0 { pick = Int(i32) }
            }
            if pick != nil && !random { return pick }
        }
        if pick != nil || unrequested.count > 0 { return pick }
        // Endgame: everything missing is asked for somewhere; ask again from another peer.
        for i in missing where bits[i] && requesters[i] < endgameCopies && asked[i] == nil && !chosen.contains(i) {
            if pick == nil || requesters[i] < requesters[pick!] { pick = i }
        }
        return pick
    }
}
