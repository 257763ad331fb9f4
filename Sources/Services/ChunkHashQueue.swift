// Received chunks on their way through libuv's thread pool to a verdict: batched by a
// `HashBatcher` (a lane-parallel BLAKE2b call per batch), verdicts handed back on the loop thread
// in the order the chunks were received (a path's chunks then reach the chunk cache in the
// order they can be restored, whichever pool thread finished first).
import Runtime
import Sodium
import Swarm

final class ChunkHashQueue {
    struct Received: Sendable {
        let link: Int
        let index: Int
        let expected: ChunkID
        let size: Int
        let bytes: [UInt8]
    }

    struct Verdict {
        let link: Int
        let index: Int
        let bytes: [UInt8]
        let intact: Bool
    }

    private typealias Ticketed = (ticket: UInt64, chunk: Received)
    private let loop: EventLoop
    private var batcher: HashBatcher<Ticketed>
    private var order = ReorderBuffer<Verdict>()
    private var timer: Timer?
    private let deliver: ([Verdict]) -> Void
    private var closed = false
    /// Bytes of chunks added and not yet delivered: waiting, being hashed, or hashed and waiting
    /// for an earlier chunk's verdict (the engine bounds what it reads by them).
    private(set) var bytes = 0

    /// `deliver` gets the verdicts on the loop thread, in the order the chunks were added, as many
    /// at a time as a finished batch lets out.
    init(loop: EventLoop, deliver: @escaping ([Verdict]) -> Void) {
        self.loop = loop
        self.deliver = deliver
        batcher = HashBatcher(lanes: Blake2b256.lanes, maxJobs: EventLoop.poolThreads, linger: 1)
        timer = try? Timer(loop: loop)
    }

    func add(_ chunk: Received) {
        guard !closed else { return }
        bytes += chunk.bytes.count
        start(batcher.add((order.take(), chunk), now: loop.nowMilliseconds))
    }

    /// Drops what waits; batches on the pool finish unheard.
    func close() {
        closed = true
        timer?.close()
        timer = nil
    }

    private func start(_ batches: [[Ticketed]]) {
        for batch in batches where !closed {
            let chunks = batch.map(\.chunk)
            do {
                try loop.runInPool({ Self.verify(chunks) }) { [weak self] intact in self?.finished(batch, intact) }
            } catch {
                finished(batch, Self.verify(chunks))
            }
        }
        guard !closed, let timer else { return }
        // No deadline while every thread is busy: a timer re-armed at 0 ms from its own callback
        // runs again at once, inside libuv's timer phase (the loop spun there, deaf to sockets
        // and signals); the next finished batch starts what waits.
        if let deadline = batcher.deadline {
            let now = loop.nowMilliseconds
            timer.start(after: max(deadline > now ? deadline - now : 0, 1)) { [weak self] in
                guard let self, !self.closed else { return }
                self.start(self.batcher.timeout(now: self.loop.nowMilliseconds))
            }
        } else {
            timer.stop()
        }
    }

    private func finished(_ batch: [Ticketed], _ intact: [Bool]) {
        guard !closed else { return }
        var verdicts: [Verdict] = []
        for (entry, ok) in zip(batch, intact) {
            let c = entry.chunk
            verdicts += order.finish(entry.ticket, Verdict(link: c.link, index: c.index, bytes: c.bytes, intact: ok))
        }
        bytes -= verdicts.reduce(0) { $0 + $1.bytes.count }
        if !verdicts.isEmpty { deliver(verdicts) }
        guard !closed else { return }
        start(batcher.finished(now: loop.nowMilliseconds))
    }

    private static func verify(_ chunks: [Received]) -> [Bool] {
        let digests = Blake2b256.hash(each: chunks.map(\.bytes))
        return zip(chunks, digests).map { c, d in c.bytes.count == c.size && ChunkID(d) == c.expected }
    }
}
