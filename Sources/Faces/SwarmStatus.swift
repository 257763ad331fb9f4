// `/status`: a node's view of its swarms as JSON, the model `rookery status` reads back. The
// seed lists every member: what it holds (from its BITFIELD and HAVEs) and what the seed itself
// sent it, so the rest came from peers. A peer lists itself in each swarm it serves. Version 1;
// fields are only ever added. Chunks and bytes held count each distinct chunk once (the chunk
// table's numbering, protocol/SPEC.md §5): a chunk that repeats in the closure moves once.
import NixFormats
import Services
import Sodium
import Swarm

public struct SwarmStatus: Codable, Sendable, Equatable {
    public struct Member: Codable, Sendable, Equatable {
        public var node: String
        /// Where it serves peers, or nil when it does not.
        public var address: String?
        public var chunksHeld: Int
        public var bytesHeld: UInt64
        /// Chunk bytes the seed sent it on its current connection.
        public var bytesFromSeed: UInt64
        public var complete: Bool
        /// Reported by another member for a bad chunk: not listed to peers.
        public var suspect: Bool
    }

    public struct Swarm: Codable, Sendable, Equatable {
        public var manifest: String
        public var label: String
        public var createdAt: UInt64
        public var toplevels: [String]
        public var paths: Int
        /// Distinct chunks: a complete member holds this many.
        public var chunks: Int
        public var narBytes: UInt64
        /// Bytes of the distinct chunks (`narBytes` less repeats): what a member holds when
        /// complete, and what a fetch moves. Absent from nodes older than this field.
        public var chunkBytes: UInt64?
        /// Chunk bytes the seed sent to this swarm's members since it started.
        public var seedBytesSent: UInt64
        public var members: [Member]
    }

    public var version = 1
    public var role: String
    public var node: String
    /// Seconds since the service started (the clock of rates and elapsed times).
    public var uptimeSeconds: Double
    /// The seed's upload cap in bytes per second, 0 when none.
    public var uploadBytesPerSecond: UInt64
    public var chunkBytesSent: UInt64
    public var chunkConnections: Int
    public var httpConnections: Int
    public var httpRequests: UInt64
    /// 206 answers (byte ranges, as in resumed downloads).
    public var httpPartialResponses: UInt64
    /// Node ids reported for bad chunks (banned by the members that saw them).
    public var reportedNodes: Int
    public var swarms: [Swarm]
}

extension SwarmStatus {
    /// What a peer holds of one manifest, worked out once (a booted system does not change).
    public struct Holding: Sendable {
        public var manifest: String
        /// Distinct chunks of the manifest, and their bytes.
        public var tableChunks: Int
        public var tableBytes: UInt64
        /// Distinct chunks of the paths on disk, and their bytes.
        public var chunks: Int
        public var bytes: UInt64

        /// `present`: the paths of the manifest (numbered by `table`) on this node's disk.
        public init(table: ChunkTable, id: String, present: some Sequence<Int>) {
            let mine = table.chunks(ofPaths: present)
            self.manifest = id
            tableChunks = table.count
            tableBytes = table.bytes
            chunks = mine.count
            bytes = table.bytes(of: mine)
        }
    }

    /// A booted peer's status: per served manifest (engine `i`, `held[i]`), itself as the one
    /// member it knows.
    public init(
        peer engines: [FetchEngine], held: [Int: Holding], http: HTTPServer.Counters,
        httpConnections: Int, uptimeSeconds: Double
    ) {
        var swarms: [Swarm] = []
        var sent: UInt64 = 0
        let node = Hex.encode(engines.first?.nodeID ?? [])
        for (i, engine) in engines.enumerated() {
            let statistics = engine.statistics
            sent += statistics.bytesServed
            guard let manifest = engine.manifest, let mine = held[i] else { continue }
            let me = Member(
                node: node, address: engine.servingAddress.map { "\($0)" }, chunksHeld: mine.chunks,
                bytesHeld: mine.bytes, bytesFromSeed: statistics.bytesFromSeed,
                complete: mine.chunks == mine.tableChunks, suspect: false)
            swarms.append(
                Swarm(
                    manifest: mine.manifest, label: manifest.label,
                    createdAt: manifest.createdAt, toplevels: manifest.toplevels.map(\.fullPath),
                    paths: manifest.paths.count, chunks: mine.tableChunks, narBytes: manifest.narBytes,
                    chunkBytes: mine.tableBytes, seedBytesSent: 0, members: [me]))
        }
        self.init(
            role: "peer", node: node, uptimeSeconds: uptimeSeconds, uploadBytesPerSecond: 0, chunkBytesSent: sent,
            chunkConnections: 0, httpConnections: httpConnections, httpRequests: http.requests,
            httpPartialResponses: http.partialResponses, reportedNodes: 0, swarms: swarms)
    }

    /// The seed's status now.
    public init(seed: SeedService, http: HTTPServer.Counters, httpConnections: Int, nowMilliseconds: UInt64) {
        let tracker = seed.tracker
        var swarms: [Swarm] = []
        for entry in seed.catalog.entries {
            let id = entry.signed.id
            var members: [Member] = []
            let table = tracker.swarms[id]?.table ?? ChunkTable(manifest: entry.manifest)
            if let swarm = tracker.swarms[id] {
                for connection in swarm.members.keys.sorted() {
                    let m = swarm.members[connection]!
                    var held: UInt64 = 0
                    for i in 0..<m.bits.count where m.bits[i] { held += UInt64(table.sizes[i]) }
                    members.append(
                        Member(
                            node: Hex.encode(m.nodeID), address: m.address?.description, chunksHeld: m.bits.setCount,
                            bytesHeld: held, bytesFromSeed: seed.bytesSent(toConnection: connection),
                            complete: m.bits.isComplete, suspect: m.suspect))
                }
            }
            let manifest = entry.manifest
            swarms.append(
                Swarm(
                    manifest: id.hex, label: manifest.label, createdAt: manifest.createdAt,
                    toplevels: manifest.toplevels.map(\.fullPath), paths: manifest.paths.count,
                    chunks: table.count, narBytes: manifest.narBytes, chunkBytes: table.bytes,
                    seedBytesSent: seed.bytesServed(swarm: id), members: members))
        }
        self.init(
            role: "seed", node: Hex.encode(seed.nodeID),
            uptimeSeconds: Double(nowMilliseconds - seed.startedAt) / 1000,
            uploadBytesPerSecond: seed.configuration.uploadBytesPerSecond, chunkBytesSent: seed.bytesServed,
            chunkConnections: seed.connectionCount, httpConnections: httpConnections, httpRequests: http.requests,
            httpPartialResponses: http.partialResponses,
            reportedNodes: tracker.reported.count, swarms: swarms)
    }
}
