// Writes NarEvents to disk, the job of `nix-store --restore`, with Nix's canonical metadata
// applied as each node completes: files 0444 (0555 if executable), directories 0555, mtime 1
// on everything, symlinks included. Every node is created fresh (O_EXCL, mkdirat, symlinkat)
// relative to its parent's descriptor and opened with O_NOFOLLOW, so no symlink in the archive
// can lead a write outside the destination. A file is created at its final size and with its
// executable bit, so a tree left half-written by a crash dumps to the NAR's exact prefix (the
// unwritten rest of the file reads as zeros): the resumed fetch hashes its chunks from there.
import Glibc
import NixFormats

final class NarRestorer {
    private struct OpenDirectory {
        let fd: Int32
        let path: String
        /// Relative to the restored root ("" for the root itself).
        let relative: String
    }

    private var directories: [OpenDirectory] = []
    /// Name the next node gets inside the innermost directory.
    private var pendingName: String
    private var pendingPath: String
    private var pendingRelative = ""
    private var file: (fd: Int32, path: String, relative: String, executable: Bool)?
    private let parentFD: Int32

    /// Restores into `parentFD`/`name`, which must not exist yet.
    init(parentFD: Int32, name: String, displayPath: String) {
        self.parentFD = parentFD
        pendingName = name
        pendingPath = displayPath
    }

    deinit {
        if let file { close(file.fd) }
        for d in directories { close(d.fd) }
    }

    private var currentDirectoryFD: Int32 { directories.last?.fd ?? parentFD }

    /// The file being written, relative to the restored root ("" when the root is the file).
    var currentFile: String? { file?.relative }

    func apply(_ event: NarEvent) throws(StoreError) {
        switch event {
        case .directoryStart:
            if mkdirat(currentDirectoryFD, pendingName, 0o700) != 0 { throw .lastSystem("mkdir", pendingPath) }
            let fd = openat(currentDirectoryFD, pendingName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 { throw .lastSystem("open", pendingPath) }
            directories.append(OpenDirectory(fd: fd, path: pendingPath, relative: pendingRelative))
        case .entryStart(let name):
            let parent = directories.last!
            pendingName = String(decoding: name, as: UTF8.self)
            pendingPath = parent.path + "/" + pendingName
            pendingRelative = parent.relative.isEmpty ? pendingName : parent.relative + "/" + pendingName
            // Names are raw bytes; one that is not valid UTF-8 would not survive the String round trip.
            guard Array(pendingName.utf8) == name else { throw .nar(.invalidName(name)) }
        case .entryEnd:
            break
        case .directoryEnd:
            let d = directories.removeLast()
            defer { close(d.fd) }
            if fchmod(d.fd, 0o555) != 0 { throw .lastSystem("chmod", d.path) }
            try setCanonicalTime(fd: d.fd, path: d.path)
        case .symlink(let target):
            let t = String(decoding: target, as: UTF8.self)
            guard Array(t.utf8) == target else { throw .nar(.invalidSymlinkTarget) }
            if symlinkat(t, currentDirectoryFD, pendingName) != 0 { throw .lastSystem("symlink", pendingPath) }
            if utimensat(currentDirectoryFD, pendingName, Self.canonicalTimes, AT_SYMLINK_NOFOLLOW) != 0 {
                throw .lastSystem("utimensat", pendingPath)
            }
        case .fileStart(let executable, let size):
            let fd = openat(
                currentDirectoryFD, pendingName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                executable ? 0o700 : 0o600)
            if fd < 0 { throw .lastSystem("open", pendingPath) }
            file = (fd, pendingPath, pendingRelative, executable)
            if size > 0 && ftruncate(fd, off_t(size)) != 0 { throw .lastSystem("ftruncate", pendingPath) }
        case .fileData(let bytes):
            guard let f = file else { throw .nar(.eventOutOfOrder("file data outside a file")) }
            var sink = FileDescriptorSink(fd: f.fd, name: f.path)
            try withBytes(bytes) { (raw) throws(StoreError) in try sink.write(raw) }
        case .fileEnd:
            guard let f = file else { throw .nar(.eventOutOfOrder("file end outside a file")) }
            file = nil
            defer { close(f.fd) }
            if fchmod(f.fd, f.executable ? 0o555 : 0o444) != 0 { throw .lastSystem("chmod", f.path) }
            try setCanonicalTime(fd: f.fd, path: f.path)
        }
    }

    /// Nix's store mtime (`mtimeStore = 1`).
    /// Access and modification time, as the array the *utimens* calls read. (Passing `&tuple.0`
    /// is not enough: an optimised build hands over a copy of the first element only.)
    static let canonicalTimes = [timespec(tv_sec: 1, tv_nsec: 0), timespec(tv_sec: 1, tv_nsec: 0)]

    private func setCanonicalTime(fd: Int32, path: String) throws(StoreError) {
        if futimens(fd, Self.canonicalTimes) != 0 { throw .lastSystem("futimens", path) }
    }
}
