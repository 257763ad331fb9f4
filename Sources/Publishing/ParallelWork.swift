// Independent CPU-bound jobs on several threads: the caller's and side threads, each taking the
// next job when done with its last. Publishing hashes every store path of a closure this way;
// one path's SHA-256 is one sequential stream, but different paths' are not, and raven has
// cores to spare.
import Glibc
import Store

public enum ParallelWork {
    /// The online cores: how many threads CPU-bound work can keep busy.
    public static var cores: Int { max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1) }

    /// Runs `body(job, worker)` for every job in `order` (a permutation of `0..<order.count`), on
    /// `workers` threads numbered from 0 (the caller is 0); returns the results by job. After a
    /// job throws, no job starts, and the first error is rethrown once running ones have ended.
    public static func map<T>(_ order: [Int], workers: Int, _ body: (_ job: Int, _ worker: Int) throws -> T) throws
        -> [T]
    {
        let queue = JobQueue<T>(order: order)
        withoutActuallyEscaping(body) { body in
            let threads = (1..<max(min(workers, order.count), 1)).map { _ in SideThread() }
            for (i, thread) in threads.enumerated() { thread.start { queue.drain(worker: i + 1, body) } }
            queue.drain(worker: 0, body)
            for thread in threads { thread.stop() }
        }
        return try queue.results()
    }
}

/// The jobs not yet taken, each one's result, the first failure. `slots` has one per job, each
/// written by the one thread that ran it; read only after every thread has ended.
private final class JobQueue<T>: @unchecked Sendable {
    private final class Progress {
        var next = 0
        var failure: (any Error)?
    }

    private let order: [Int]
    private let progress = Locked(Progress())
    private let slots: UnsafeMutableBufferPointer<T?>

    init(order: [Int]) {
        self.order = order
        slots = .allocate(capacity: order.count)
        slots.initialize(repeating: nil)
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    func drain(worker: Int, _ body: (Int, Int) throws -> T) {
        while let job = take() {
            do { slots[job] = try body(job, worker) } catch { fail(error) }
        }
    }

    func results() throws -> [T] {
        if let failure = progress.unlocked.failure { throw failure }
        return slots.map { $0! }
    }

    private func take() -> Int? {
        progress.run { p in
            guard p.failure == nil, p.next < order.count else { return nil }
            p.next += 1
            return order[p.next - 1]
        }
    }

    private func fail(_ error: any Error) {
        progress.run { p in if p.failure == nil { p.failure = error } }
    }
}
