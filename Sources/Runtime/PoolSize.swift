// libuv's pool threads (hashing received chunks, writing them to disk) and the loop thread share
// the cores. The loop thread is the head of the fetch pipeline — it reads the socket and asks for
// more — and with many more pool threads than cores it waits for a core: traced on 2 cores, a
// 512 MiB fetch's loop thread spent 0.26 s of 0.9 s runnable but preempted by libuv's default 4
// pool threads, and one pool thread per core but the loop's made it 0.88 → 0.75 s. Since the
// disk work moved to the pool too, in lanes that run side by side (DiskQueue), one per core is
// best: on 2 cores, alternating fetches, medians of 5, a 512 MiB path 0.67 s with 1 thread,
// 0.56 s with 2 (0.53 with 3); 1000 small paths 0.150, 0.145 (0.141) s.
import Glibc

extension EventLoop {
    /// Sizes libuv's thread pool to the online cores (at most 16), unless UV_THREADPOOL_SIZE is
    /// set. Call before the first pool job: libuv reads it once.
    public static func onePoolThreadPerCore() {
        guard getenv("UV_THREADPOOL_SIZE") == nil else { return }
        let cores = max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1)
        setenv("UV_THREADPOOL_SIZE", "\(min(cores, 16))", 1)
    }
}

extension EventLoop {
    /// libuv's pool threads: UV_THREADPOOL_SIZE as libuv reads it (default 4, 1…1024).
    public static var poolThreads: Int {
        guard let value = getenv("UV_THREADPOOL_SIZE"), let n = Int(String(cString: value)) else { return 4 }
        return min(max(n, 1), 1024)
    }
}
