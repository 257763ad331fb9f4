// A folder's entries changing, as loop events (inotify through libuv): raven's seed serves what
// `rookery publish` writes into its state without being told. Alive (and retained) from init
// until `close()`'s callback.
import CLibUV

public final class FolderWatcher {
    private let handle: UnsafeMutablePointer<uv_fs_event_t>
    private var callback: (() -> Void)?
    private var closed = false

    /// Calls `callback` whenever an entry of the folder `path` is made, written, renamed or removed.
    public init(loop: EventLoop, path: String, _ callback: @escaping () -> Void) throws(RuntimeError) {
        handle = .allocate(capacity: 1)
        try uvCheck(uv_fs_event_init(loop.raw, handle), "uv_fs_event_init")
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        self.callback = callback
        do {
            try uvCheck(
                uv_fs_event_start(
                    handle,
                    { h, _, _, status in
                        guard status >= 0 else { return }
                        owner(h, as: FolderWatcher.self).callback?()
                    }, path, 0), "watch \(path)")
        } catch {
            close()
            throw error
        }
    }

    deinit { handle.deallocate() }

    public func close() {
        guard !closed else { return }
        closed = true
        callback = nil
        closeRetainedHandle(handle)
    }
}
