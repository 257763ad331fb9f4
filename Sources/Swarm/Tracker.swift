// The seed's view of each swarm (one per manifest): who is in it, where they serve, what they
// hold. Members join with BITFIELD, grow with HAVE and are forgotten when their connection to
// the seed ends. Peers are handed out completed first (Kraken's completeness policy).
import Sodium

public struct Tracker: Sendable {
    public struct Member: Sendable {
        public let nodeID: [UInt8]
        /// Where it serves; nil when it does not (listen port 0).
        public let address: PeerAddress?
        public var bits: Bitfield
    }

    public struct Swarm: Sendable {
        public let table: ChunkTable
        /// Members by seed-side connection.
        public var members: [Int: Member] = [:]
        /// How many members hold each chunk.
        public var holders: [UInt16]
        /// Members that serve (have an address), kept so the seed need not count them per request.
        public var serving = 0

        init(table: ChunkTable) {
            self.table = table
            holders = [UInt16](repeating: 0, count: table.count)
        }
    }

    public private(set) var swarms: [Digest256: Swarm] = [:]
    /// Which swarm each connection joined.
    private var membership: [Int: Digest256] = [:]

    public init() {}

    /// Makes a manifest's swarm known (the seed serves it).
    public mutating func open(_ manifest: Digest256, table: ChunkTable) {
        if swarms[manifest] == nil { swarms[manifest] = Swarm(table: table) }
    }

    /// A connection joins `manifest`'s swarm holding `bits` (again: its holdings are replaced).
    /// False when the manifest is unknown or the bitfield does not fit its table.
    public mutating func join(
        connection: Int, nodeID: [UInt8], address: PeerAddress?, manifest: Digest256, bits: Bitfield
    ) -> Bool {
        guard let table = swarms[manifest]?.table, bits.count == table.count else { return false }
        leave(connection: connection)
        membership[connection] = manifest
        swarms[manifest]!.members[connection] = Member(nodeID: nodeID, address: address, bits: bits)
        if address != nil { swarms[manifest]!.serving += 1 }
        for i in 0..<bits.count where bits[i] { swarms[manifest]!.holders[i] += 1 }
        return true
    }

    /// A member verified more chunks. False when an index is out of range.
    public mutating func have(connection: Int, _ indices: [UInt32]) -> Bool {
        guard let manifest = membership[connection] else { return false }
        for i in indices {
            let index = Int(i)
            guard index < swarms[manifest]!.table.count else { return false }
            if swarms[manifest]!.members[connection]!.bits.insert(index) { swarms[manifest]!.holders[index] += 1 }
        }
        return true
    }

    public mutating func leave(connection: Int) {
        guard let manifest = membership.removeValue(forKey: connection),
            let member = swarms[manifest]?.members.removeValue(forKey: connection)
        else { return }
        for i in 0..<member.bits.count where member.bits[i] { swarms[manifest]!.holders[i] -= 1 }
        if member.address != nil { swarms[manifest]!.serving -= 1 }
    }

    public func swarm(of connection: Int) -> (id: Digest256, swarm: Swarm)? {
        guard let id = membership[connection], let swarm = swarms[id] else { return nil }
        return (id, swarm)
    }

    /// Up to `max` other members that serve: completed first, then the rest in random order.
    public func peers(for connection: Int, max: Int, using rng: inout some RandomNumberGenerator) -> [PeerEntry] {
        guard let (_, swarm) = swarm(of: connection) else { return [] }
        var complete: [PeerEntry] = []
        var partial: [PeerEntry] = []
        for c in swarm.members.keys.sorted() where c != connection {
            let m = swarm.members[c]!
            guard let address = m.address else { continue }
            let entry = PeerEntry(address: address, nodeID: m.nodeID, complete: m.bits.isComplete)
            if entry.complete { complete.append(entry) } else { partial.append(entry) }
        }
        complete.shuffle(using: &rng)
        partial.shuffle(using: &rng)
        return Array((complete + partial).prefix(max))
    }
}
