// Writes NarEvents to disk, the job of `nix-store --restore`, with Nix's canonical metadata
// applied as each node completes: files 0444 (0555 if executable), directories 0555, mtime 1
// on everything, symlinks included. Every node is created fresh (O_EXCL, mkdirat, symlinkat)
// relative to its parent's descriptor and opened with O_NOFOLLOW, so no symlink in the archive
// can lead a write outside the destination. A file is created with its final mode (when the
// umask leaves it whole, else it is set at the end), and so is a directory where this process
// may write into it anyway. A file has its final size at the end of every `feed` (`settle`), so
// a tree left half-written by a crash dumps to the NAR's exact prefix (the unwritten rest of the
// file reads as zeros): the resumed fetch hashes its chunks from there.
import Glibc
import NixFormats

final class NarRestorer {
    private struct DirectoryInProgress {
        let fd: Int32
        let path: String
        /// Relative to the restored root ("" for the root itself).
        let relative: String
    }

    private var directories: [DirectoryInProgress] = []
    /// Name the next node gets inside the innermost directory.
    private var pendingName: String
    private var pendingPath: String
    private var pendingRelative = ""
    private var file: (fd: Int32, path: String, relative: String, executable: Bool)?
    /// The size of the open file until it is set (by its whole contents, or by `settle`).
    private var unsizedFile: UInt64?
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
            let mode: mode_t = Self.directoriesCreatedReadOnly ? 0o555 : 0o700
            if mkdirat(currentDirectoryFD, pendingName, mode) != 0 { throw .lastSystem("mkdir", pendingPath) }
            let fd = openat(currentDirectoryFD, pendingName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 { throw .lastSystem("open", pendingPath) }
            directories.append(DirectoryInProgress(fd: fd, path: pendingPath, relative: pendingRelative))
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
            if !Self.directoriesCreatedReadOnly, fchmod(d.fd, 0o555) != 0 { throw .lastSystem("chmod", d.path) }
            try setCanonicalTime(fd: d.fd, path: d.path)
        case .symlink(let target):
            let t = String(decoding: target, as: UTF8.self)
            guard Array(t.utf8) == target else { throw .nar(.invalidSymlinkTarget) }
            if symlinkat(t, currentDirectoryFD, pendingName) != 0 { throw .lastSystem("symlink", pendingPath) }
            if utimensat(currentDirectoryFD, pendingName, Self.canonicalTimes, AT_SYMLINK_NOFOLLOW) != 0 {
                throw .lastSystem("utimensat", pendingPath)
            }
        case .fileStart(let executable, let size):
            // Opened for writing at creation, so a read-only mode does not stop the writes.
            let mode: mode_t = Self.createdModesAreExact ? (executable ? 0o555 : 0o444) : (executable ? 0o700 : 0o600)
            let fd = openat(currentDirectoryFD, pendingName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            if fd < 0 { throw .lastSystem("open", pendingPath) }
            file = (fd, pendingPath, pendingRelative, executable)
            unsizedFile = size > 0 ? size : nil
        case .fileData(let bytes):
            guard let f = file else { throw .nar(.eventOutOfOrder("file data outside a file")) }
            // Contents that come whole size the file themselves (most files of small paths).
            if unsizedFile == UInt64(bytes.count) { unsizedFile = nil }
            try settle()
            var sink = FileDescriptorSink(fd: f.fd, name: f.path)
            try withBytes(bytes) { (raw) throws(StoreError) in try sink.write(raw) }
        case .fileEnd:
            guard let f = file else { throw .nar(.eventOutOfOrder("file end outside a file")) }
            file = nil
            unsizedFile = nil
            defer { close(f.fd) }
            if !Self.createdModesAreExact, fchmod(f.fd, f.executable ? 0o555 : 0o444) != 0 {
                throw .lastSystem("chmod", f.path)
            }
            try setCanonicalTime(fd: f.fd, path: f.path)
        }
    }

    /// Gives the open file its final size if it does not have it yet: called before its
    /// contents are written in pieces, and at the end of each feed.
    func settle() throws(StoreError) {
        guard let f = file, let size = unsizedFile else { return }
        unsizedFile = nil
        if ftruncate(f.fd, off_t(size)) != 0 { throw .lastSystem("ftruncate", f.path) }
    }

    /// Whether a file created with mode 0444 or 0555 gets exactly that: the process's umask
    /// (read once from /proc, Linux 4.7 on) clears none of those bits. Else modes are set after.
    static let createdModesAreExact = processStatus.map(umaskKeepsStoreModes) ?? false

    /// Whether directories are made 0555 at once: the modes are exact and this process creates
    /// entries in read-only directories anyway (CAP_DAC_OVERRIDE, as root in the initrd), so
    /// each needs no chmod when complete. Else they are 0700 until then.
    static let directoriesCreatedReadOnly =
        createdModesAreExact && (processStatus.map(overridesFilePermissions) ?? false)

    private static let processStatus: String? = (try? FileIO.read("/proc/self/status")).map {
        String(decoding: $0, as: UTF8.self)
    }

    /// The value of `field` (e.g. `Umask:`) in /proc/self/status text, blanks dropped.
    private static func statusField(_ field: String, in statusText: String) -> String? {
        for line in statusText.split(separator: "\n") where line.hasPrefix(field) {
            return line.dropFirst(field.count).filter { $0 != " " && $0 != "\t" }
        }
        return nil
    }

    /// From /proc/self/status text: true when its `Umask:` clears none of 0555's bits.
    static func umaskKeepsStoreModes(statusText: String) -> Bool {
        guard let value = statusField("Umask:", in: statusText), let mask = UInt32(value, radix: 8) else {
            return false
        }
        return mask & 0o555 == 0
    }

    /// From /proc/self/status text: true when the effective capabilities (`CapEff:`) hold
    /// CAP_DAC_OVERRIDE (bit 1).
    static func overridesFilePermissions(statusText: String) -> Bool {
        guard let value = statusField("CapEff:", in: statusText), let caps = UInt64(value, radix: 16) else {
            return false
        }
        return caps & (1 << 1) != 0
    }

    /// Nix's store mtime (`mtimeStore = 1`).
    /// Access and modification time, as the array the *utimens* calls read. (Passing `&tuple.0`
    /// is not enough: an optimised build hands over a copy of the first element only.)
    static let canonicalTimes = [timespec(tv_sec: 1, tv_nsec: 0), timespec(tv_sec: 1, tv_nsec: 0)]

    private func setCanonicalTime(fd: Int32, path: String) throws(StoreError) {
        if futimens(fd, Self.canonicalTimes) != 0 { throw .lastSystem("futimens", path) }
    }
}
