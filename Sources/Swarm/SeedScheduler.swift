// Super-seeding (BEP 16's idea, decided at the seed): when a member asks the seed to choose
// (REQUEST_ANY), the seed hands out chunks that no other member holds or is being sent, never
// sent before first, so raven's uplink carries each chunk about once per boot wave and the
// peers spread it. A member alone in its swarm gets whatever it lacks.

public struct SeedScheduler: Sendable {
    /// Times the seed sent each chunk (offers and explicit requests).
    public private(set) var sentCount: [UInt32]
    /// Chunks offered to a member and not yet confirmed by its HAVE, by connection.
    private var outstanding: [Int: Set<Int>] = [:]
    /// How many members each chunk is on its way to.
    private var inFlight: [UInt16]

    public init(chunkCount: Int) {
        sentCount = [UInt32](repeating: 0, count: chunkCount)
        inFlight = [UInt16](repeating: 0, count: chunkCount)
    }

    /// Chooses chunks for `connection`, whose holdings are `bits`, within `count` and about
    /// `bytes` (at least one chunk when any qualifies). `others` is how many other members serve.
    public mutating func offer(
        to connection: Int, holding bits: Bitfield, table: ChunkTable, holders: [UInt16], others: Int,
        count: Int, bytes: UInt64
    ) -> [UInt32] {
        let mine = outstanding[connection] ?? []
        var neverSent: [Int] = []
        var again: [Int] = []
        var budget = bytes
        for i in 0..<table.count where !bits[i] && !mine.contains(i) {
            if others > 0 && (holders[i] > 0 || inFlight[i] > 0) { continue }
            if sentCount[i] == 0 { neverSent.append(i) } else { again.append(i) }
            if neverSent.count >= count { break }
        }
        var chosen: [UInt32] = []
        for i in neverSent + again.sorted(by: { sentCount[$0] < sentCount[$1] }) {
            let size = UInt64(table.sizes[i])
            if chosen.count == count || (!chosen.isEmpty && size > budget) { break }
            budget -= min(budget, size)
            chosen.append(UInt32(i))
            sentCount[i] += 1
            inFlight[i] += 1
            outstanding[connection, default: []].insert(i)
        }
        return chosen
    }

    /// The member confirmed these chunks (HAVE).
    public mutating func confirmed(_ connection: Int, _ indices: [UInt32]) {
        guard outstanding[connection] != nil else { return }
        for i in indices where outstanding[connection]!.remove(Int(i)) != nil { inFlight[Int(i)] -= 1 }
    }

    /// A chunk sent on an explicit REQUEST.
    public mutating func sent(_ index: Int) { sentCount[index] += 1 }

    /// The member left: what was on its way to it is free to hand out again.
    public mutating func left(_ connection: Int) {
        for i in outstanding.removeValue(forKey: connection) ?? [] { inFlight[i] -= 1 }
    }
}
