// CPU-bound work off the loop thread: libuv's thread pool (uv_queue_work; as many threads as
// UV_THREADPOOL_SIZE says, see PoolSize.swift) runs `work`, and `done` gets its result back on the loop
// thread. The agent hashes received chunks there, so BLAKE2b overlaps with reading the socket
// and writing the disk instead of stalling both.
import CLibUV

extension EventLoop {
    /// Runs `work` on the pool; `done` runs on this loop's thread with its result. A pending job
    /// keeps the loop alive until `done` has run.
    public func runInPool<T: Sendable>(
        _ work: @escaping @Sendable () -> T, then done: @escaping (T) -> Void
    ) throws(RuntimeError) {
        let job = PoolJob(work: work, done: done)
        let request = UnsafeMutablePointer<uv_work_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passRetained(job).toOpaque()
        let status = uv_queue_work(
            raw, request,
            { r in Unmanaged<PoolJob>.fromOpaque(r!.pointee.data).takeUnretainedValue().runWork() },
            { r, _ in
                let job = Unmanaged<PoolJob>.fromOpaque(r!.pointee.data).takeRetainedValue()
                r!.deallocate()
                job.finish()
            })
        if status != 0 {
            Unmanaged<PoolJob>.fromOpaque(request.pointee.data).release()
            request.deallocate()
            try uvCheck(status, "uv_queue_work")
        }
    }
}

/// One job: the pool thread writes `finishing` once; libuv's queue hands the job back to the
/// loop thread (a mutex and an async wake-up in between) before `finish` reads it.
private final class PoolJob: @unchecked Sendable {
    private let work: () -> (() -> Void)
    private var finishing: (() -> Void)?

    init<T: Sendable>(work: @escaping @Sendable () -> T, done: @escaping (T) -> Void) {
        self.work = {
            let result = work()
            return { done(result) }
        }
    }

    func runWork() { finishing = work() }

    func finish() {
        let f = finishing
        finishing = nil
        f?()
    }
}
