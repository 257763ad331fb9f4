// The typed error of on-disk work: dumping trees, restoring NARs, committing store paths.
import Glibc
import NixFormats

public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed.
    case system(call: String, path: String, errno: Int32)
    /// The NAR stream was refused.
    case nar(NarError)
    /// A file that is neither regular, directory nor symlink (Nix's "unsupported type").
    case unsupportedFileType(path: String)
    /// A file shrank or grew while being dumped.
    case fileChanged(path: String)
    /// The restore destination already exists.
    case destinationExists(path: String)
    /// The NAR's SHA-256 is not the one expected.
    case hashMismatch(path: String, expected: String, got: String)
    /// The NAR's length is not the one expected.
    case sizeMismatch(path: String, expected: UInt64, got: UInt64)
    /// A state file that does not decode.
    case corruptFile(path: String, reason: String)
    /// An external tool (mke2fs) exited with a failure status.
    case toolFailed(tool: String, status: Int32)
    /// An external tool ran past its time and was killed.
    case toolTimedOut(tool: String, seconds: Int32)
    /// A chunk a restore needs is neither fetched nor in a path on disk.
    case chunkMissing(path: String, chunk: String)
    /// A manifest that would not read back as every seed and agent reads it.
    case unreadableManifest(reason: String)
    /// Another process holds the root's lock: a fetch into the same root is running.
    case rootBusy(lock: String)
    /// A system call failed with ENOSPC; `inodes`: the file system had no inode left, though it
    /// may have blocks to spare (`df` shows room, `df -i` none).
    case outOfRoom(call: String, path: String, inodes: Bool)

    public var description: String {
        switch self {
        case .system(let call, let path, let e):
            "\(call) '\(path)': \(String(cString: strerror(e)))"
        case .nar(let e): "bad archive: \(e)"
        case .unsupportedFileType(let p): "file '\(p)' has an unsupported type"
        case .fileChanged(let p): "file '\(p)' changed while it was being dumped"
        case .destinationExists(let p): "'\(p)' already exists"
        case .hashMismatch(let p, let e, let g): "hash mismatch for '\(p)': expected \(e), got \(g)"
        case .sizeMismatch(let p, let e, let g): "size mismatch for '\(p)': expected \(e) bytes, got \(g)"
        case .corruptFile(let p, let r): "'\(p)' is corrupt: \(r)"
        case .toolFailed(let t, let s): "\(t) failed (wait status \(s))"
        case .toolTimedOut(let t, let s): "\(t) did not finish within \(s) s and was killed"
        case .chunkMissing(let p, let c): "chunk \(c) of '\(p)' is not on this machine"
        case .unreadableManifest(let r): "the manifest would not read back (seeds and agents would refuse it): \(r)"
        case .rootBusy(let l): "another fetch into this root is running (it holds '\(l)')"
        case .outOfRoom(let call, let path, let inodes):
            "\(call) '\(path)': \(inodes ? "no inode left on its file system" : String(cString: strerror(ENOSPC)))"
        }
    }

    /// The error of the system call that just failed, from errno.
    public static func lastSystem(_ call: String, _ path: String) -> StoreError {
        system(call, path, errno: errno)
    }

    /// A system call's failure. ENOSPC is told apart at once, while the file system is as the
    /// call saw it: a failed restore removes its partial tree right after, and with it the
    /// inodes that had run out.
    public static func system(_ call: String, _ path: String, errno e: Int32) -> StoreError {
        guard e == ENOSPC else { return .system(call: call, path: path, errno: e) }
        // The path may not exist (what could not be made, or a restore's final name while it is
        // built under a staging name): the nearest folder that does is on the same file system.
        var vfs = statvfs()
        var known = statvfs(path, &vfs) == 0
        var folder = Substring(path)
        while !known, let slash = folder.lastIndex(of: "/") {
            folder = folder[..<slash]
            known = statvfs(folder.isEmpty ? "/" : String(folder), &vfs) == 0
        }
        // Some file systems report no inode count at all (f_files 0): those never run out.
        return .outOfRoom(call: call, path: path, inodes: known && vfs.f_files > 0 && vfs.f_ffree == 0)
    }
}
