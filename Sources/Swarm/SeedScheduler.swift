// Super-seeding (BEP 16's idea, decided at the seed): when a member asks the seed to choose
// (REQUEST_ANY), the seed hands out chunks that no other member holds or is being sent, never
// sent before first, so raven's uplink carries each chunk about once per boot wave and the
// peers spread it. A member alone in its swarm gets whatever it lacks.
//
// While peers exist, only a few chunks are on their way from the seed at once (over all
// members): a chunk handed out is shared by few flows on raven's uplink, so it arrives soon and
// its holder starts spreading it. Handing every chunk out at once (1000 members asking together)
// would have them all crawl in parallel and arrive together near the end, with nothing to trade
// meanwhile. A member that confirms nothing for a while (slow, stuck) stops counting against the
// cap, so it cannot hold the others back; its chunks stay its own until it confirms or leaves.

public struct SeedScheduler: Sendable {
    /// Times the seed sent each chunk (offers and explicit requests).
    public private(set) var sentCount: [UInt32]
    /// Chunks offered to a member and not yet confirmed by its HAVE, by connection.
    private var outstanding: [Int: Outstanding] = [:]

    struct Outstanding: Sendable {
        var chunks: Set<Int> = []
        var bytes: UInt64 = 0
        /// When it was last offered something with nothing outstanding, or confirmed something.
        var since: UInt64 = 0
        /// Confirmed nothing for `staleMilliseconds`: its bytes do not count against the cap.
        var stale = false
    }
    /// How many members each chunk is on its way to.
    private var inFlight: [UInt16]
    /// Bytes offered and not yet confirmed, over all members that are not stale.
    public private(set) var bytesInFlight: UInt64 = 0
    public var staleMilliseconds: UInt64 = 2000
    /// The cap on `bytesInFlight` while peers exist (at least one chunk is always allowed).
    public let maxBytesInFlight: UInt64
    private let sizes: [UInt32]

    public init(table: ChunkTable, maxBytesInFlight: UInt64 = SeedScheduler.defaultMaxBytesInFlight) {
        sentCount = [UInt32](repeating: 0, count: table.count)
        inFlight = [UInt16](repeating: 0, count: table.count)
        sizes = table.sizes
        self.maxBytesInFlight = maxBytesInFlight
    }

    /// Chunks offered to `connection` and not yet confirmed.
    public func offered(to connection: Int) -> Int { outstanding[connection]?.chunks.count ?? 0 }

    /// No more offers while peers exist, until confirmations make room.
    public var isFull: Bool { bytesInFlight >= maxBytesInFlight }

    /// About 0.3 s of a 50 Mbit/s uplink, 1.5 ms of 10 Gbit/s: the flows stay few, and the
    /// confirmations (HAVE) come back long before the uplink runs dry on a LAN.
    public static let defaultMaxBytesInFlight: UInt64 = 2 << 20

    /// Chooses chunks for `connection`, whose holdings are `bits`, within `count` and about
    /// `bytes` (at least one chunk when any qualifies), among `wanted` (nil: every chunk).
    /// `others` is how many other members serve.
    public mutating func offer(
        to connection: Int, holding bits: Bitfield, wanting wanted: Bitfield? = nil, holders: [UInt16], others: Int,
        count: Int, bytes: UInt64, now: UInt64
    ) -> [UInt32] {
        var mine = outstanding[connection] ?? Outstanding()
        if mine.chunks.isEmpty { mine.since = now }
        var neverSent: [Int] = []
        var again: [Int] = []
        var budget = bytes
        if others > 0 {
            // Full, or this member is stuck: the chunks go to members that move.
            guard !isFull, !mine.stale else { return [] }
            budget = min(budget, maxBytesInFlight - bytesInFlight)
        }
        for i in 0..<sizes.count where !bits[i] && wanted?[i] != false && !mine.chunks.contains(i) {
            if others > 0 && (holders[i] > 0 || inFlight[i] > 0) { continue }
            if sentCount[i] == 0 { neverSent.append(i) } else { again.append(i) }
            if neverSent.count >= count { break }
        }
        var chosen: [UInt32] = []
        for i in neverSent + again.sorted(by: { sentCount[$0] < sentCount[$1] }) {
            let size = UInt64(sizes[i])
            if chosen.count == count || (!chosen.isEmpty && size > budget) { break }
            budget -= min(budget, size)
            chosen.append(UInt32(i))
            sentCount[i] += 1
            inFlight[i] += 1
            mine.chunks.insert(i)
            mine.bytes += size
            if !mine.stale { bytesInFlight += size }
        }
        outstanding[connection] = mine
        return chosen
    }

    /// The member confirmed these chunks (HAVE).
    public mutating func confirmed(_ connection: Int, _ indices: [UInt32], now: UInt64) {
        guard var mine = outstanding[connection] else { return }
        var progressed = false
        for i in indices where mine.chunks.remove(Int(i)) != nil {
            land(Int(i), from: &mine)
            progressed = true
        }
        guard progressed else { return }
        mine.since = now
        if mine.stale {
            // Moving again: what is left counts against the cap again.
            mine.stale = false
            bytesInFlight += mine.bytes
        }
        outstanding[connection] = mine
    }

    /// Members that confirmed nothing for `staleMilliseconds` stop counting against the cap.
    public mutating func expire(now: UInt64) {
        for (connection, var mine) in outstanding
        where !mine.stale && !mine.chunks.isEmpty && now >= mine.since + staleMilliseconds {
            mine.stale = true
            bytesInFlight -= mine.bytes
            outstanding[connection] = mine
        }
    }

    /// A chunk sent on an explicit REQUEST.
    public mutating func sent(_ index: Int) { sentCount[index] += 1 }

    /// The member left: what was on its way to it is free to hand out again.
    public mutating func left(_ connection: Int) {
        guard var mine = outstanding.removeValue(forKey: connection) else { return }
        for i in mine.chunks { land(i, from: &mine) }
    }

    private mutating func land(_ i: Int, from mine: inout Outstanding) {
        let size = UInt64(sizes[i])
        inFlight[i] -= 1
        mine.bytes -= size
        if !mine.stale { bytesInFlight -= size }
    }
}
