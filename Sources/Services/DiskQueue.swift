// Storing verified chunks and restoring store paths, off the loop thread. A thousand small paths
// cost a thousand rounds of mkdir, create, write, utimes and rename in ext4; on the loop thread
// they held up reading the socket and answering peers, and on one pool thread they were the
// whole fetch's critical path, with the other core idle. So the planned paths are dealt out to
// lanes in turn, each with its own chunk cache behind its own lock: a lane runs its jobs in the
// order added, a batch at a time on libuv's pool, and lanes run side by side (ext4 creates files
// in parallel; each path's jobs stay in one lane, in order). The loop thread takes a lane's lock
// only to read a chunk for a peer. At most `maxBytes` of chunk data wait: past it the engine
// holds verdicts back, so no new requests go out until the disk catches up. A crash loses what
// waits (verified, announced, not yet on disk): the rerun fetches it again, as it does what was
// on the wire.
import Glibc
import NixFormats
import Runtime
import Store
import Swarm

final class DiskQueue {
    enum Job: Sendable {
        case store(ChunkID, ArraySlice<UInt8>)
        case restore(StorePath)

        var bytes: Int {
            if case .store(_, let data) = self { return data.count }
            return 0
        }
    }

    /// A share of the planned paths: their chunk cache, and their jobs in order.
    private final class Lane {
        let cache: Locked<ChunkCache>
        var pending: [Job] = []
        var running = false

        init(_ cache: ChunkCache) { self.cache = Locked(cache) }

        var idle: Bool { !running && pending.isEmpty }
    }

    private let loop: EventLoop
    private let lanes: [Lane]
    private let store: Locked<ChunkServer>
    /// Runs each job at once on the caller's thread (benchmarks that keep all on the loop).
    private let inline: Bool
    /// Fault injection: each job waits this long first (tests of a slow disk).
    private let jobDelayMicroseconds: UInt32
    private let failed: (StoreError) -> Void
    /// The lane of each planned path, and the lanes (a bit each) of each of their chunks.
    private var laneOfPath: [StorePath: Int] = [:]
    private var lanesOfChunk: [ChunkID: UInt8] = [:]
    private var closed = false
    private var drained: [() -> Void] = []
    /// Called on the loop thread when a finished batch brought the bytes below `maxBytes`.
    var madeRoom: (() -> Void)?
    /// Chunk bytes in jobs waiting or running.
    private(set) var bytes = 0
    /// The bytes of chunks in store jobs not yet done (and how many such jobs each is in): the
    /// client announced them (HAVE) when they verified, and a peer that asks is served from here.
    private var unwritten: [ChunkID: (data: ArraySlice<UInt8>, jobs: Int)] = [:]
    static let maxBytes = 8 << 20
    static let maxLanes = 4

    /// `caches`: one per lane, not planned yet. `failed` gets the first error, on the loop thread;
    /// later jobs are dropped.
    init(
        loop: EventLoop, caches: [ChunkCache], store: ChunkServer, inline: Bool, jobDelayMicroseconds: UInt32 = 0,
        failed: @escaping (StoreError) -> Void
    ) {
        precondition(!caches.isEmpty && caches.count <= Self.maxLanes)
        self.loop = loop
        lanes = caches.map(Lane.init)
        self.store = Locked(store)
        self.inline = inline
        self.jobDelayMicroseconds = jobDelayMicroseconds
        self.failed = failed
    }

    /// Lanes for this process: one per libuv pool thread (they hash too), at most `maxLanes`
    /// (the store directory's lock serialises every path's rename into it).
    static var laneCount: Int { min(max(EventLoop.poolThreads, 1), maxLanes) }

    /// Deals the paths `indices` of `manifest` out to the lanes in turn and plans each lane's
    /// cache; returns the planned chunks already on disk, intact in some place they go (see
    /// `ChunkCache.verifiedPresent`) and now copied into every other. Before any job is added:
    /// it uses the caches unlocked.
    func plan(_ manifest: Manifest, paths indices: [Int], storeNames: Set<String>) throws(StoreError) -> Set<ChunkID> {
        precondition(lanes.allSatisfy(\.idle), "planned while jobs ran")
        var present: [ChunkID: UInt8] = [:]
        laneOfPath.reserveCapacity(laneOfPath.count + indices.count)
        lanesOfChunk.reserveCapacity(lanesOfChunk.count + indices.reduce(0) { $0 + manifest.paths[$1].chunks.count })
        for (l, lane) in lanes.enumerated() {
            let mine = stride(from: l, to: indices.count, by: lanes.count).map { indices[$0] }
            for p in mine {
                laneOfPath[manifest.paths[p].storePath] = l
                for id in manifest.paths[p].chunks { lanesOfChunk[id, default: 0] |= 1 << l }
            }
            let cache = lane.cache.unlocked
            try cache.create()
            cache.plan(manifest, paths: mine)
            for id in try cache.verifiedPresent(storeNames: storeNames) { present[id, default: 0] |= 1 << l }
        }
        // A chunk that repeats in paths of two lanes may have reached one lane's disk only (each
        // lane runs its store jobs in its own time): the others take a copy, so it is not fetched
        // again.
        for (id, mask) in present where mask != lanesOfChunk[id] {
            guard let from = lanes.indices.first(where: { mask & (1 << $0) != 0 }),
                let bytes = lanes[from].cache.unlocked.read(id)
            else { continue }
            for l in lanes.indices where (lanesOfChunk[id] ?? 0) & ~mask & (1 << l) != 0 {
                try lanes[l].cache.unlocked.adopt(id, bytes)
            }
            present[id] = lanesOfChunk[id]
        }
        return Set(present.keys)
    }

    var isFull: Bool { bytes >= Self.maxBytes }

    /// Queues `job` in the lane of its path (a chunk: in each lane with a path that holds it).
    func add(_ job: Job) {
        guard !closed else { return }
        switch job {
        case .store(let id, let data):
            let mask = lanesOfChunk[id] ?? 0
            for l in lanes.indices where mask & (1 << l) != 0 {
                bytes += data.count
                unwritten[id] = (data, (unwritten[id]?.jobs ?? 0) + 1)
                add(job, to: l)
            }
        case .restore(let path):
            if let l = laneOfPath[path] { add(job, to: l) }
        }
    }

    private func add(_ job: Job, to l: Int) {
        lanes[l].pending.append(job)
        if !lanes[l].running { start(l) }
    }

    /// Runs `body` on the loop thread once every job added so far is done (now, when none is).
    func whenDrained(_ body: @escaping () -> Void) {
        if lanes.allSatisfy(\.idle) { body() } else { drained.append(body) }
    }

    /// A chunk this node holds: in memory until its store job ran, else from a lane's cache,
    /// else from a restored path.
    func read(_ id: ChunkID) -> [UInt8]? {
        if let bytes = unwrittenChunk(id) { return bytes }
        for lane in lanes { if let bytes = lane.cache.run({ $0.read(id) }) { return bytes } }
        return store.run { (try? $0.read(id)) ?? nil }
    }

    /// Whether a path already in the store holds chunk `id` intact. Files on this disk may have
    /// been altered since Nix registered them; what a restore takes from them must match its
    /// signed id, as every fetched chunk does.
    func storeHoldsIntact(_ id: ChunkID) -> Bool { Self.intact(id, from: store) != nil }

    private static func intact(_ id: ChunkID, from store: Locked<ChunkServer>) -> [UInt8]? {
        guard let bytes = store.run({ (try? $0.read(id)) ?? nil }), ChunkID(of: bytes) == id else { return nil }
        return bytes
    }

    /// A chunk's bytes while its store job is not done yet.
    func unwrittenChunk(_ id: ChunkID) -> [UInt8]? { unwritten[id].map { Array($0.data) } }

    /// Drops what waits; running batches finish (a staging tree is never left half-renamed).
    func close() {
        closed = true
        for lane in lanes { lane.pending = [] }
        drained = []
    }

    private func start(_ l: Int) {
        let lane = lanes[l]
        guard !closed, !lane.pending.isEmpty else { return }
        let batch = lane.pending
        lane.pending = []
        lane.running = true
        let cache = lane.cache
        let store = self.store
        let delay = jobDelayMicroseconds
        guard !inline else { return finished(l, batch, Self.run(batch, cache, store, delay)) }
        do {
            try loop.runInPool({ Self.run(batch, cache, store, delay) }) { [weak self] error in
                self?.finished(l, batch, error)
            }
        } catch {
            finished(l, batch, Self.run(batch, cache, store, delay))
        }
    }

    private func finished(_ l: Int, _ batch: [Job], _ error: StoreError?) {
        lanes[l].running = false
        let wasFull = isFull
        for job in batch {
            bytes -= job.bytes
            guard case .store(let id, _) = job, let entry = unwritten[id] else { continue }
            unwritten[id] = entry.jobs > 1 ? (entry.data, entry.jobs - 1) : nil
        }
        guard !closed else { return }
        if let error {
            close()
            return failed(error)
        }
        start(l)
        if lanes.allSatisfy(\.idle) {
            let waiting = drained
            drained = []
            for body in waiting { body() }
        }
        if wasFull && !isFull { madeRoom?() }
    }

    /// Runs the jobs in order, each under the lane's lock (a peer's read waits for one job at
    /// most); the first error stops them. A restore takes a chunk it shares with a path already
    /// on disk from the store, if it is intact there.
    private static func run(
        _ jobs: [Job], _ cache: Locked<ChunkCache>, _ store: Locked<ChunkServer>, _ delayMicroseconds: UInt32
    ) -> StoreError? {
        for job in jobs {
            if delayMicroseconds > 0 { usleep(delayMicroseconds) }
            let error = cache.run { cache -> StoreError? in
                do throws(StoreError) {
                    switch job {
                    case .store(let id, let data):
                        try cache.write(id, data)
                    case .restore(let path):
                        try cache.restore(path) { id in intact(id, from: store) }
                    }
                    return nil
                } catch {
                    return error
                }
            }
            if let error { return error }
        }
        return nil
    }
}
