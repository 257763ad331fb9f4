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

    /// Fills `buffer` with the bytes of `path` from `offset` on (opened with O_NOFOLLOW: store
    /// files are never links). A file shorter than that has changed under us.
    public static func read(_ path: String, at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer)
        throws(StoreError)
    {
        let fd = try openForReading(path)
        defer { close(fd) }
        try read(fd: fd, at: offset, into: buffer, name: path)
    }

    /// Fills `buffer` with the bytes of the open file `fd` from `offset` on; a file shorter than
    /// that has changed under us.
    public static func read(fd: Int32, at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer, name: String)
        throws(StoreError)
    {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .lastSystem("pread", name)
            }
            if n == 0 { throw .fileChanged(path: name) }
            done += n
        }
    }

    /// Opens a store file for reading (O_NOFOLLOW: store files are never links); the caller closes it.
    public static func openForReading(_ path: String) throws(StoreError) -> Int32 {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { throw .lastSystem("open", path) }
        return fd
    }

    /// `count` bytes of `path` from `offset` on, read straight into the new array.
    public static func read(_ path: String, at offset: UInt64, count: Int) throws(StoreError) -> [UInt8] {
        let fd = try openForReading(path)
        defer { close(fd) }
        return try read(fd: fd, at: offset, count: count, name: path)
    }

    /// `count` bytes of the open file `fd` from `offset` on, read straight into the new array.
    public static func read(fd: Int32, at offset: UInt64, count: Int, name: String) throws(StoreError) -> [UInt8] {
        var failure: StoreError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(StoreError) {
                try read(fd: fd, at: offset, into: UnsafeMutableRawBufferPointer(buffer), name: name)
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
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
    /// `durable` waits for the disk (fsync) before returning. A write that fails (a full disk)
    /// removes the file it made: a partial manifest or key left behind took the room it lacked,
    /// and a second attempt refused to replace it.
    public static func writeNew(_ path: String, _ bytes: [UInt8], mode: mode_t, durable: Bool = true) throws(StoreError)
    {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        if fd < 0 {
            if errno == EEXIST { throw .destinationExists(path: path) }
            throw .lastSystem("open", path)
        }
        defer { close(fd) }
        do throws(StoreError) {
            // The mode is exact whatever the umask, as Nix writes secret keys 0600.
            if fchmod(fd, mode) != 0 { throw StoreError.lastSystem("chmod", path) }
            var sink = FileDescriptorSink(fd: fd, name: path)
            try withBytes(bytes) { (raw) throws(StoreError) in try sink.write(raw) }
            if durable && fsync(fd) != 0 { throw StoreError.lastSystem("fsync", path) }
        } catch {
            _ = unlink(path)
            throw error
        }
    }
}

extension FileIO {
    /// Waits until the entries of `directory` (files made or renamed in it) are on the disk.
    public static func syncDirectory(_ directory: String) throws(StoreError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw .lastSystem("open", directory) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw .lastSystem("fsync", directory) }
    }

    /// Writes `bytes` to `path` all at once: a temporary file beside it, fsync, rename. Readers see
    /// the old file or the new one, never a part.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, durable: Bool = true)
        throws(StoreError)
    {
        let (parent, name) = splitPath(path)
        let temporary = parent + "/." + name + ".tmp-\(getpid())"
        _ = unlink(temporary)
        try writeNew(temporary, bytes, mode: mode, durable: durable)
        if rename(temporary, path) != 0 {
            let error = StoreError.lastSystem("rename", path)
            _ = unlink(temporary)
            throw error
        }
    }

    /// The names in `directory` (none when it does not exist): one readdir instead of a stat per
    /// name asked about (a thousand paths' presence checks were a thousand failed stats).
    public static func names(in directory: String) throws(StoreError) -> Set<String> {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return [] }
            throw .lastSystem("open", directory)
        }
        defer { close(fd) }
        return Set(try directoryEntries(fd: fd, path: directory).map { String(decoding: $0, as: UTF8.self) })
    }

    /// Whether `path` is a folder (a link to one counts).
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    /// Creates `path` and its missing parents.
    public static func createDirectories(_ path: String, mode: mode_t = 0o755) throws(StoreError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode) != 0 && errno != EEXIST { throw .lastSystem("mkdir", current) }
        }
    }
}
