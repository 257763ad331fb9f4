// One fetch at a time into a root. Two fetches into one root restore the same paths through the
// same chunk cache and staging folders, and failed each other half-way ("mkdir …: File exists",
// "rename …: No such file or directory", seen with two `rookery fetch` started together). The
// lock is an flock on <root>/nix/var/rookery/lock, taken before anything of the fetch touches the
// root; the kernel drops it when the process ends, however it ends (kill -9, a power cut), so a
// crash never leaves a root locked.
import Glibc

public final class RootLock {
    public let path: String
    private let fd: Int32

    /// Takes the lock, or throws `rootBusy` at once if another process holds it (a second fetch
    /// gets one clear line instead of waiting on one that may run for minutes).
    public init(_ root: StoreRoot) throws(StoreError) {
        try FileIO.createDirectories(root.rookeryDirectory)
        path = root.rookeryDirectory + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw .lastSystem("open", path) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let error = errno
            close(fd)
            if error == EWOULDBLOCK { throw .rootBusy(lock: path) }
            throw .system(call: "flock", path: path, errno: error)
        }
        self.fd = fd
    }

    deinit { close(fd) }
}
