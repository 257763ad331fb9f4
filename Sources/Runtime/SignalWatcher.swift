// SIGINT/SIGTERM as loop events, for a graceful stop.
import CLibUV
import Glibc

public final class SignalWatcher {
    private var handles: [UnsafeMutablePointer<uv_signal_t>] = []
    private let callback: (Int32) -> Void

    /// Watches `signals` on `loop`; the watcher keeps the loop alive until `close()`.
    public init(loop: EventLoop, signals: [Int32] = [SIGINT, SIGTERM], _ callback: @escaping (Int32) -> Void)
        throws(RuntimeError)
    {
        self.callback = callback
        // A parent may hand down these signals blocked (Foundation's Process does, from a test
        // runner's thread); blocked, they would never reach libuv's handler.
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for signal in signals {
            let h = UnsafeMutablePointer<uv_signal_t>.allocate(capacity: 1)
            try uvCheck(uv_signal_init(loop.raw, h), "uv_signal_init")
            h.pointee.data = Unmanaged.passRetained(self).toOpaque()
            handles.append(h)
            try uvCheck(
                uv_signal_start(h, { h, signum in owner(h, as: SignalWatcher.self).callback(signum) }, signal),
                "uv_signal_start")
        }
    }

    public func close() {
        for h in handles {
            uv_close(UnsafeMutableRawPointer(h).assumingMemoryBound(to: uv_handle_t.self)) { h in
                Unmanaged<SignalWatcher>.fromOpaque(h!.pointee.data).release()
                h!.deallocate()
            }
        }
        handles = []
    }
}
