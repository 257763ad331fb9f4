// Small whole-file reads and writes (keys, manifests, registrations), without Foundation so the
// initrd agent can use them.
import Glibc

public enum FileIO {
    /// Reads a whole file of at most `limit` bytes.
    public static func read(_ path: String, limit: Int = 64 << 20) throws(StoreError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .lastSystem("open", path) }
        defer { close(fd) }
        return try readAll(fd: fd, name: path, limit: limit)
    }

    /// Reads a descriptor to its end, at most `limit` bytes.
    public static func readAll(fd: Int32, name: String, limit: Int) throws(StoreError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .lastSystem("read", name)
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { throw .system(call: "read", path: name, errno: EFBIG) }
        }
    }

    /// Creates `path` with `mode` and writes `bytes`; refuses to replace an existing file.
    public static func writeNew(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(StoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        if fd < 0 {
            if errno == EEXIST { throw .destinationExists(path: path) }
            throw .lastSystem("open", path)
        }
        defer { close(fd) }
        // The mode is exact whatever the umask, as Nix writes secret keys 0600.
        if fchmod(fd, mode) != 0 { throw .lastSystem("chmod", path) }
        var sink = FileDescriptorSink(fd: fd, name: path)
        try withBytes(bytes) { (raw) throws(StoreError) in try sink.write(raw) }
        if fsync(fd) != 0 { throw .lastSystem("fsync", path) }
    }
}
