// The seed's view of each swarm (one per manifest): who is in it, where they serve, what they
// hold. Members join with BITFIELD, grow with HAVE and are forgotten when their connection to
// the seed ends. Peers are handed out completed first (Kraken's completeness policy). A node that
// a member reports (it sent chunks that did not verify) is suspect from then on: it is listed to
// nobody and its holdings do not count, so the seed does not hold back chunks it claims to have.
// A lying report costs only seed bytes (the seed then sends what that node would have served).
import Sodium

public struct Tracker: Sendable {
    public struct Member: Sendable {
        public let nodeID: [UInt8]
        /// Where it serves; nil when it does not (listen port 0).
        public let address: PeerAddress?
        public var bits: Bitfield
        /// Reported by a member: not listed, its bits not counted.
        public var suspect = false
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
    /// Node ids reported by members, for as long as the seed runs (bounded: REPORTs are cheap).
    public private(set) var reported: Set<[UInt8]> = []
    public static let maxReported = 4096

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
        let member = Member(nodeID: nodeID, address: address, bits: bits, suspect: reported.contains(nodeID))
        swarms[manifest]!.members[connection] = member
        count(member, in: manifest, by: 1)
        return true
    }

    /// Adds (`by` 1) or removes (-1) what a member contributes: holdings and a serving slot.
    private mutating func count(_ member: Member, in manifest: Digest256, by delta: Int) {
        guard !member.suspect else { return }
        if member.address != nil { swarms[manifest]!.serving += delta }
        for i in 0..<member.bits.count where member.bits[i] {
            swarms[manifest]!.holders[i] = UInt16(Int(swarms[manifest]!.holders[i]) + delta)
        }
    }

    /// A member says these nodes sent it corrupt chunks; returns those reported for the first time.
    @discardableResult
    public mutating func report(_ nodeIDs: [[UInt8]]) -> [[UInt8]] {
        var new: [[UInt8]] = []
        for id in nodeIDs where reported.count < Self.maxReported && reported.insert(id).inserted {
            new.append(id)
            for manifest in swarms.keys.sorted() {
                for c in swarms[manifest]!.members.keys.sorted() where swarms[manifest]!.members[c]!.nodeID == id {
                    count(swarms[manifest]!.members[c]!, in: manifest, by: -1)
                    swarms[manifest]!.members[c]!.suspect = true
                }
            }
        }
        return new
    }

    /// A member verified more chunks. False when an index is out of range.
    public mutating func have(connection: Int, _ indices: [UInt32]) -> Bool {
        guard let manifest = membership[connection] else { return false }
        for i in indices {
            let index = Int(i)
            guard index < swarms[manifest]!.table.count else { return false }
            if swarms[manifest]!.members[connection]!.bits.insert(index)
                && !swarms[manifest]!.members[connection]!.suspect
            {
                swarms[manifest]!.holders[index] += 1
            }
        }
        return true
    }

    public mutating func leave(connection: Int) {
        guard let manifest = membership.removeValue(forKey: connection),
            let member = swarms[manifest]?.members.removeValue(forKey: connection)
        else { return }
        count(member, in: manifest, by: -1)
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
            guard let address = m.address, !m.suspect else { continue }
            let entry = PeerEntry(address: address, nodeID: m.nodeID, complete: m.bits.isComplete)
            if entry.complete { complete.append(entry) } else { partial.append(entry) }
        }
        complete.shuffle(using: &rng)
        partial.shuffle(using: &rng)
        return Array((complete + partial).prefix(max))
    }
}
