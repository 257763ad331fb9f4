// Storing verified chunks and restoring store paths, off the loop thread. A thousand small paths
// cost a thousand rounds of mkdir, create, write, chmod, utimes and rename in ext4, about 0.12 ms
// each here; on the loop thread they held up reading the socket and answering peers. Jobs run
// in the order added, a batch at a time on libuv's pool, with the chunk cache and store behind a
// lock that the loop thread takes only to read a chunk for a peer (and to drop cache files at
// the end, when nothing runs). At most `maxBytes` of chunk data wait: past it the engine holds
// verdicts back, so no new requests go out until the disk catches up. A crash loses what waits
// (verified, announced, not yet on disk): the rerun fetches it again, as it does what was on the
// wire.
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

    private let loop: EventLoop
    private let disk: LockedDisk
    /// Runs each job at once on the caller's thread (benchmarks that keep all on the loop).
    private let inline: Bool
    private let failed: (String) -> Void
    private var pending: [Job] = []
    private var running = false
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

    /// `failed` gets the first error, on the loop thread; later jobs are dropped.
    init(
        loop: EventLoop, cache: ChunkCache, store: ChunkServer, inline: Bool,
        failed: @escaping (String) -> Void
    ) {
        self.loop = loop
        disk = LockedDisk(cache: cache, store: store)
        self.inline = inline
        self.failed = failed
    }

    var isFull: Bool { bytes >= Self.maxBytes }

    func add(_ job: Job) {
        guard !closed else { return }
        pending.append(job)
        bytes += job.bytes
        if case .store(let id, let data) = job { unwritten[id] = (data, (unwritten[id]?.jobs ?? 0) + 1) }
        if !running { start() }
    }

    /// Runs `body` on the loop thread once every job added so far is done (now, when none is).
    func whenDrained(_ body: @escaping () -> Void) {
        if !running && pending.isEmpty { body() } else { drained.append(body) }
    }

    /// A chunk's bytes while its store job is not done yet.
    func unwrittenChunk(_ id: ChunkID) -> [UInt8]? { unwritten[id].map { Array($0.data) } }

    /// `body` with the cache and the store, between jobs.
    func locked<R>(_ body: (ChunkCache, ChunkServer) -> R) -> R { disk.locked(body) }

    /// Drops what waits; a running batch finishes (a staging tree is never left half-renamed).
    func close() {
        closed = true
        pending = []
        drained = []
    }

    private func start() {
        guard !closed else { return }
        guard !pending.isEmpty else {
            let waiting = drained
            drained = []
            for body in waiting { body() }
            return
        }
        let batch = pending
        pending = []
        running = true
        let disk = self.disk
        guard !inline else { return finished(batch, disk.run(batch)) }
        do {
            try loop.runInPool({ disk.run(batch) }) { [weak self] error in self?.finished(batch, error) }
        } catch {
            finished(batch, disk.run(batch))
        }
    }

    private func finished(_ batch: [Job], _ error: String?) {
        running = false
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
        start()
        if wasFull && !isFull { madeRoom?() }
    }
}

/// The chunk cache and the store, used by one thread at a time.
private final class LockedDisk: @unchecked Sendable {
    private let cache: ChunkCache
    private let store: ChunkServer
    private var mutex = pthread_mutex_t()

    init(cache: ChunkCache, store: ChunkServer) {
        self.cache = cache
        self.store = store
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    func locked<R>(_ body: (ChunkCache, ChunkServer) -> R) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body(cache, store)
    }

    /// Runs the jobs in order, each under the lock (a peer's read waits for one job at most);
    /// the first error stops them.
    func run(_ jobs: [DiskQueue.Job]) -> String? {
        for job in jobs {
            let error: String? = locked { cache, store in
                do {
                    switch job {
                    case .store(let id, let data):
                        try cache.write(id, data)
                    case .restore(let path):
                        try cache.restore(path) { id in (try? store.read(id)) ?? nil }
                    }
                    return nil
                } catch {
                    return "\(error)"
                }
            }
            if let error { return error }
        }
        return nil
    }
}
