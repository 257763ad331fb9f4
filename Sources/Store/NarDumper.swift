// Dumps a file system tree as a NAR stream, the job of `nix-store --dump`: directory entries
// sorted bytewise, only the owner-execute bit kept, files streamed through a fixed buffer so a
// 4 GiB file never sits in memory.
import Glibc
import NixFormats

public struct NarDumper {
    /// Bytes gathered before each write to the sink.
    public var bufferSize: Int

    public init(bufferSize: Int = 256 * 1024) {
        self.bufferSize = bufferSize
    }

    /// Writes the NAR of `path` (not following it if it is a symlink) to `sink`.
    public func dump(path: String, to sink: inout some ByteSink) throws(StoreError) {
        let state = DumpState(sink: sink, bufferSize: bufferSize, root: path)
        let (parent, name) = splitPath(path)
        let parentFD = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if parentFD < 0 { throw .lastSystem("open", parent) }
        defer { close(parentFD) }
        try state.dumpNode(directory: parentFD, name: name, path: path)
        try state.flush()
        sink = state.sink
    }
}

/// One dump's buffers; a class so closures over its buffers need no exclusive access to all of it.
private final class DumpState<Sink: ByteSink> {
    var sink: Sink
    var writer = NarWriter()
    var out: [UInt8] = []
    let readBuffer: UnsafeMutableRawBufferPointer
    let bufferSize: Int
    /// The dumped path: file paths relative to it go to sinks that skip contents.
    let root: String

    init(sink: Sink, bufferSize: Int, root: String) {
        self.sink = sink
        self.bufferSize = bufferSize
        self.root = root
        readBuffer = .allocate(byteCount: sink.skipsFileContents ? 0 : bufferSize, alignment: 64)
        out.reserveCapacity(bufferSize * 2)
    }

    deinit { readBuffer.deallocate() }

    func emit(_ event: NarEvent) throws(StoreError) {
        do { try writer.write(event, into: &out) } catch { throw .nar(error) }
        if out.count >= bufferSize { try flush() }
    }

    func flush() throws(StoreError) {
        guard !out.isEmpty else { return }
        try withBytes(out) { (raw) throws(StoreError) in try sink.write(raw) }
        out.removeAll(keepingCapacity: true)
    }

    func dumpNode(directory: Int32, name: String, path: String) throws(StoreError) {
        var st = stat()
        if fstatat(directory, name, &st, AT_SYMLINK_NOFOLLOW) != 0 { throw .lastSystem("lstat", path) }
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            try dumpFile(directory: directory, name: name, path: path, stat: st)
        case S_IFLNK:
            try emit(
                .symlink(target: try readLink(directory: directory, name: name, path: path, size: Int(st.st_size))))
        case S_IFDIR:
            let fd = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 { throw .lastSystem("open", path) }
            defer { close(fd) }
            try emit(.directoryStart)
            for entry in try sortedEntries(fd: fd, path: path) {
                let childName = String(decoding: entry, as: UTF8.self)
                try emit(.entryStart(name: entry))
                try dumpNode(directory: fd, name: childName, path: path + "/" + childName)
                try emit(.entryEnd)
            }
            try emit(.directoryEnd)
        default:
            throw .unsupportedFileType(path: path)
        }
    }

    func dumpFile(directory: Int32, name: String, path: String, stat st: stat) throws(StoreError) {
        if sink.skipsFileContents {
            let size = UInt64(st.st_size)
            try emit(.fileStart(executable: st.st_mode & S_IXUSR != 0, size: size))
            try flush()
            try sink.skipped(relativePath: path == root ? "" : String(path.dropFirst(root.count + 1)), length: size)
            do { try writer.skipFileData(size) } catch { throw .nar(error) }
            try emit(.fileEnd)
            return
        }
        let fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { throw .lastSystem("open", path) }
        defer { close(fd) }
        let size = UInt64(st.st_size)
        try emit(.fileStart(executable: st.st_mode & S_IXUSR != 0, size: size))
        if size >= UInt64(bufferSize) {
            // A large file goes to the sink on its own, not through `out`: one copy or two fewer.
            try flush()
            try sink.write(file: fd, count: size, path: path, scratch: readBuffer)
            do { try writer.skipFileData(size) } catch { throw .nar(error) }
            try emit(.fileEnd)
            return
        }
        // A smaller one is read whole into the buffer and framed with what is around it.
        let contents = UnsafeMutableRawBufferPointer(rebasing: readBuffer[0..<Int(size)])
        try FileIO.read(fd: fd, at: 0, into: contents, name: path)
        if size > 0 {
            do { try writer.writeFileData(UnsafeRawBufferPointer(contents), into: &out) } catch { throw .nar(error) }
        }
        try emit(.fileEnd)
    }

    func readLink(directory: Int32, name: String, path: String, size: Int) throws(StoreError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(size, 0) + 1)
        let n = buffer.withUnsafeMutableBytes { raw in
            readlinkat(directory, name, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
        }
        if n < 0 { throw .lastSystem("readlink", path) }
        if n >= buffer.count { throw .fileChanged(path: path) }
        return Array(buffer[0..<n])
    }

    /// Entry names sorted by raw bytes (Nix keeps them in a std::map<std::string>).
    func sortedEntries(fd: Int32, path: String) throws(StoreError) -> [[UInt8]] {
        try directoryEntries(fd: fd, path: path).sorted { $0.lexicographicallyPrecedes($1) }
    }
}
