// One private libuv loop (never uv_default_loop), confined to the thread that runs it.
import CLibUV
import Glibc

public final class EventLoop {
    let raw: UnsafeMutablePointer<uv_loop_t>

    public init() throws(RuntimeError) {
        // A peer that goes away mid-write must cost one connection (EPIPE), not the process.
        signal(SIGPIPE, SIG_IGN)
        raw = .allocate(capacity: 1)
        do { try uvCheck(uv_loop_init(raw), "uv_loop_init") } catch {
            raw.deallocate()
            throw error
        }
    }

    deinit {
        // Closing handles need a turn of the loop to finish before the loop can close.
        _ = uv_run(raw, UV_RUN_NOWAIT)
        _ = uv_loop_close(raw)
        raw.deallocate()
    }

    /// Runs until no handle is active (every stop in rookery closes its handles).
    public func run() {
        _ = uv_run(raw, UV_RUN_DEFAULT)
    }

    /// The loop's cached monotonic time in milliseconds: when the current turn began.
    public var nowMilliseconds: UInt64 { uv_now(raw) }

    /// Brings `nowMilliseconds` up to date after work that held the loop for long (a fetch's
    /// start hashing what a crash left on the disk): a timeout measured from the stale time
    /// would count that work as silence.
    public func updateTime() { uv_update_time(raw) }
}

/// Closes a handle whose `data` holds a retained reference to its Swift owner; the close
/// callback balances that retain, so the owner lives exactly until libuv is done with the handle.
func closeRetainedHandle<H>(_ handle: UnsafeMutablePointer<H>) {
    uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { h in
        Unmanaged<AnyObject>.fromOpaque(h!.pointee.data).release()
    }
}

/// Owner lookup for any handle whose `data` holds an `Unmanaged` reference to its Swift owner.
@inline(__always)
func owner<T: AnyObject, H>(_ handle: UnsafeMutablePointer<H>?, as: T.Type) -> T {
    let h = UnsafeMutableRawPointer(handle!).assumingMemoryBound(to: uv_handle_t.self)
    return Unmanaged<T>.fromOpaque(h.pointee.data).takeUnretainedValue()
}
