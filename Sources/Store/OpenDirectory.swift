// A directory held open so that many imports into it (the paths of one fetch into a store)
// share one descriptor instead of opening and closing the directory each.
import Glibc

public final class OpenDirectory {
    public let path: String
    let fd: Int32

    public init(_ path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw .lastSystem("open", path) }
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }
}
