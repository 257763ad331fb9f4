// What a client still needs from a manifest and what it has asked for: pure bookkeeping that
// the fetch engine drives. Chunks are requested in path order (so paths complete early and can
// be restored), batched, with a bound on bytes in flight.
import NixFormats
import Sodium

public struct FetchPlan: Sendable {
    public struct Location: Sendable, Equatable {
        public let path: Int
        public let index: Int
    }

    public let manifest: Manifest
    /// Paths (indices) to fetch, in manifest order.
    public let wanted: [Int]
    private var queue: [ChunkID] = []
    private var queueHead = 0
    private(set) var locations: [ChunkID: [Location]] = [:]
    private var inFlight: [ChunkID: UInt64] = [:]
    public private(set) var inFlightBytes: UInt64 = 0
    private var have: Set<ChunkID> = []
    private var missingPerPath: [Int: Int] = [:]

    /// Plans the fetch of `wanted` paths; `present` chunks (verified earlier) are not fetched again.
    public init(manifest: Manifest, wanted: [Int], present: Set<ChunkID>) {
        self.manifest = manifest
        self.wanted = wanted
        var queued: Set<ChunkID> = []
        for p in wanted {
            let chunks = manifest.paths[p].chunks
            var missing = 0
            for (i, id) in chunks.enumerated() {
                locations[id, default: []].append(Location(path: p, index: i))
                if present.contains(id) {
                    have.insert(id)
                } else {
                    missing += 1
                    if queued.insert(id).inserted { queue.append(id) }
                }
            }
            missingPerPath[p] = missing
        }
    }

    /// Paths whose every chunk is here (restorable now), in manifest order.
    public var completePaths: [Int] { wanted.filter { missingPerPath[$0] == 0 } }
    public var isComplete: Bool { queueHead == queue.count && inFlight.isEmpty }
    public var remainingChunks: Int { queue.count - queueHead + inFlight.count }

    /// The size of chunk `id` (its first location's slice).
    public func size(of id: ChunkID) -> UInt64 {
        guard let l = locations[id]?.first else { return 0 }
        let range = manifest.layout.range(of: l.index, narSize: manifest.paths[l.path].narSize)
        return range.upperBound - range.lowerBound
    }

    /// The next batch to request, keeping bytes in flight under `budget`; empty when nothing fits.
    public mutating func nextRequest(budget: UInt64, maxCount: Int = 256) -> [ChunkID] {
        var batch: [ChunkID] = []
        while queueHead < queue.count, batch.count < maxCount {
            let id = queue[queueHead]
            let size = size(of: id)
            if inFlightBytes + size > budget && !(inFlight.isEmpty && batch.isEmpty) { break }
            queueHead += 1
            inFlight[id] = size
            inFlightBytes += size
            batch.append(id)
        }
        return batch
    }

    public enum Verdict: Equatable, Sendable {
        /// Verified: write it; these paths became complete.
        case accepted(completed: [Int])
        /// Not requested (or already here): a protocol violation by the sender.
        case unexpected
        /// Its BLAKE2b-256 is not its id: the sender lied.
        case corrupt
    }

    /// Checks a received chunk against its id before anything is written.
    public mutating func received(_ id: ChunkID, data: ArraySlice<UInt8>) -> Verdict {
        guard let size = inFlight[id] else { return .unexpected }
        guard UInt64(data.count) == size, ChunkID(of: data) == id else { return .corrupt }
        inFlight[id] = nil
        inFlightBytes -= size
        have.insert(id)
        var completed: [Int] = []
        for l in locations[id] ?? [] {
            missingPerPath[l.path, default: 0] -= 1
            if missingPerPath[l.path] == 0 { completed.append(l.path) }
        }
        return .accepted(completed: completed)
    }

    /// The sender does not hold `id`: it goes back to the queue's end, for another source.
    public mutating func notAvailable(_ id: ChunkID) {
        guard let size = inFlight.removeValue(forKey: id) else { return }
        inFlightBytes -= size
        queue.append(id)
    }

    /// Everything in flight goes back to the queue (the connection was lost).
    public mutating func connectionLost() {
        for id in inFlight.keys.sorted() { queue.append(id) }
        inFlight = [:]
        inFlightBytes = 0
    }
}
