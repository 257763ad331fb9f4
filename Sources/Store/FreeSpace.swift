// Room on a root's file system, for the check a fetch makes before its first request: a lab PC
// whose disk cannot hold what it lacks stops at once with the numbers, instead of taking the
// swarm's bandwidth for minutes and stopping on "No space left on device" near the end.
import CSystemShims
import Glibc

public struct FreeSpace: Sendable, Equatable {
    /// Bytes this process may still write there (root may use the blocks ext4 keeps for root).
    public let bytes: UInt64
    /// Whether a path takes at least its NAR bytes there. ext2/3/4, XFS and tmpfs store file
    /// bytes as they are, in whole blocks (or pages), and a NAR's framing is a few dozen bytes
    /// per entry, less than the block a file or directory rounds up to. Others may compress or
    /// share blocks (btrfs, ZFS, bcachefs): no estimate from NAR bytes holds there, and nothing
    /// is checked.
    public let pathsTakeTheirNarBytes: Bool

    public init(bytes: UInt64, pathsTakeTheirNarBytes: Bool) {
        self.bytes = bytes
        self.pathsTakeTheirNarBytes = pathsTakeTheirNarBytes
    }

    /// The file system that holds `directory`.
    public init(of directory: String) throws(StoreError) {
        var vfs = statvfs()
        guard statvfs(directory, &vfs) == 0 else { throw .lastSystem("statvfs", directory) }
        var type: Int64 = 0
        let rc = rookery_file_system_type(directory, &type)
        guard rc == 0 else { throw .system(call: "statfs", path: directory, errno: -rc) }
        let blocks = geteuid() == 0 ? UInt64(vfs.f_bfree) : UInt64(vfs.f_bavail)
        bytes = blocks * UInt64(vfs.f_frsize)
        pathsTakeTheirNarBytes = Self.plainFileSystems.contains(type)
    }

    /// EXT2/3/4_SUPER_MAGIC, XFS_SUPER_MAGIC, TMPFS_MAGIC (linux/magic.h).
    static let plainFileSystems: Set<Int64> = [0xEF53, 0x5846_5342, 0x0102_1994]

    /// The line a fetch stops with when `needed` bytes for `paths` store paths do not fit under
    /// `root`, or nil when they may.
    public func shortfall(needed: UInt64, paths: Int, root: String) -> String? {
        guard pathsTakeTheirNarBytes, needed > bytes else { return nil }
        let mib: UInt64 = 1 << 20
        return "not enough space in \(root): the \(paths) missing store paths need \((needed + mib - 1) / mib) MiB, "
            + "\(bytes / mib) MiB are free \(Self.makingRoom)"
    }

    static let makingRoom = "(old generations go with nix-collect-garbage -d on the booted system)"

    /// The line a fetch stops with when a write under `root` failed for want of room, or nil
    /// for any other error. The check before the fetch counts NAR bytes, which only bounds what
    /// the files take from below (each takes whole blocks), and the file system may run out of
    /// inodes first: both end here, and the admin needs to know which.
    public static func ranOut(_ error: StoreError, root: String) -> String? {
        let what: String
        switch error {
        case .outOfRoom(_, _, let inodes): what = inodes ? "inodes in \(root) (df -i counts them)" : "space in \(root)"
        case .system(_, _, EDQUOT): what = "the disk quota in \(root)"
        default: return nil
        }
        return "ran out of \(what) while restoring the closure: \(error) \(makingRoom)"
    }
}
