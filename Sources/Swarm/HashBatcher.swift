// When received chunks go to the hashing threads. One lane-parallel call hashes several chunks
// for the CPU time of about two (`Blake2b256.hash(each:)`), so chunks wait until a call's worth
// is in — but while no batch is out, never longer than `linger`: on a slow link a lone chunk
// goes by itself, late by at most that. While a batch is out, a part-full one waits for it to
// finish instead (on a fast link the next full call is a moment away). At most `maxJobs`
// batches are out at once (one per pool thread); while they run, the next batch fills. Pure:
// time is an input, batches to start are the output.

public struct HashBatcher<Item> {
    /// Chunks one call hashes together (`Blake2b256.lanes`).
    public let lanes: Int
    public let maxJobs: Int
    /// Milliseconds a chunk may wait for others.
    public let linger: UInt64
    private var waiting: [(item: Item, since: UInt64)] = []
    public private(set) var jobs = 0

    public init(lanes: Int, maxJobs: Int, linger: UInt64) {
        precondition(lanes >= 1 && maxJobs >= 1)
        self.lanes = lanes
        self.maxJobs = maxJobs
        self.linger = linger
    }

    public var waitingCount: Int { waiting.count }

    /// When to call `timeout`: the oldest waiting chunk has waited long enough then. Nil while
    /// nothing waits or a job is out (the next `finished` starts what waits).
    public var deadline: UInt64? { jobs == 0 ? waiting.first.map { $0.since + linger } : nil }

    /// A chunk came in: the batches to start now.
    public mutating func add(_ item: Item, now: UInt64) -> [[Item]] {
        waiting.append((item, now))
        return ready(now: now)
    }

    /// A started batch is hashed: the batches to start now.
    public mutating func finished(now: UInt64) -> [[Item]] {
        precondition(jobs > 0, "no batch was started")
        jobs -= 1
        return ready(now: now)
    }

    /// The deadline passed: the batches to start now.
    public mutating func timeout(now: UInt64) -> [[Item]] {
        ready(now: now)
    }

    private mutating func ready(now: UInt64) -> [[Item]] {
        var batches: [[Item]] = []
        while jobs < maxJobs, let first = waiting.first,
            waiting.count >= lanes || (jobs == 0 && now >= first.since + linger)
        {
            // Up to two calls' worth: what piled up while every thread was busy goes at once.
            let n = min(waiting.count, 2 * lanes)
            batches.append(waiting.prefix(n).map(\.item))
            waiting.removeFirst(n)
            jobs += 1
        }
        return batches
    }
}
