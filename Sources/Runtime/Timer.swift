// A libuv timer. Alive (and retained) from init until `close()`'s callback.
import CLibUV

public final class Timer {
    private let handle: UnsafeMutablePointer<uv_timer_t>
    private var callback: (() -> Void)?
    private var closed = false

    public init(loop: EventLoop) throws(RuntimeError) {
        handle = .allocate(capacity: 1)
        try uvCheck(uv_timer_init(loop.raw, handle), "uv_timer_init")
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    deinit { handle.deallocate() }

    /// Calls `callback` after `milliseconds`, then every `repeatMilliseconds` if non-zero.
    public func start(
        after milliseconds: UInt64, repeat repeatMilliseconds: UInt64 = 0, _ callback: @escaping () -> Void
    ) {
        guard !closed else { return }
        self.callback = callback
        uv_timer_start(handle, { h in owner(h, as: Timer.self).callback?() }, milliseconds, repeatMilliseconds)
    }

    public func stop() {
        guard !closed else { return }
        uv_timer_stop(handle)
    }

    public func close() {
        guard !closed else { return }
        closed = true
        callback = nil
        closeRetainedHandle(handle)
    }
}
