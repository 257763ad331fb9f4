import Glibc
import Store
import Testing

@Suite struct FreeSpaceTests {
    /// Refused only where paths take at least their NAR bytes and those exceed the free bytes;
    /// the line rounds what is needed up and what is free down, so it never reads "needs 3 MiB,
    /// 3 MiB are free".
    @Test func aShortfallIsOneLineWithTheNumbers() {
        let mib: UInt64 = 1 << 20
        let ext4 = FreeSpace(bytes: 3 * mib + 5, pathsTakeTheirNarBytes: true)
        #expect(ext4.shortfall(needed: 3 * mib + 5, paths: 2, root: "/mnt-root") == nil)
        #expect(
            ext4.shortfall(needed: 3 * mib + 6, paths: 2, root: "/mnt-root")
                == "not enough space in /mnt-root: the 2 missing store paths need 4 MiB, 3 MiB are free "
                + "(old generations go with nix-collect-garbage -d on the booted system)")
        let btrfs = FreeSpace(bytes: 3 * mib, pathsTakeTheirNarBytes: false)
        #expect(btrfs.shortfall(needed: 100 * mib, paths: 2, root: "/mnt-root") == nil)
    }

    /// A disk that fills during the fetch: the line says which ran out, and nothing else
    /// becomes such a line.
    @Test func runningOutMidFetchIsOneLineThatSaysWhat() {
        let made = "(old generations go with nix-collect-garbage -d on the booted system)"
        #expect(
            FreeSpace.ranOut(.outOfRoom(call: "write", path: "/mnt-root/nix/store/x", inodes: false), root: "/mnt-root")
                == "ran out of space in /mnt-root while restoring the closure: write '/mnt-root/nix/store/x': "
                + "No space left on device \(made)")
        #expect(
            FreeSpace.ranOut(.outOfRoom(call: "mkdir", path: "/mnt-root/nix/store/x", inodes: true), root: "/mnt-root")
                == "ran out of inodes in /mnt-root (df -i counts them) while restoring the closure: "
                + "mkdir '/mnt-root/nix/store/x': no inode left on its file system \(made)")
        #expect(
            FreeSpace.ranOut(.system(call: "write", path: "/mnt-root/f", errno: EDQUOT), root: "/mnt-root")
                == "ran out of the disk quota in /mnt-root while restoring the closure: write '/mnt-root/f': "
                + "Disk quota exceeded \(made)")
        #expect(FreeSpace.ranOut(.system(call: "write", path: "/mnt-root/f", errno: EIO), root: "/mnt-root") == nil)
        #expect(FreeSpace.ranOut(.rootBusy(lock: "/mnt-root/lock"), root: "/mnt-root") == nil)
    }

    /// ENOSPC becomes `outOfRoom`, told apart by the file system the path is on, also when the
    /// path and its folder do not exist (a restore's final name); other errors stay as they are.
    @Test func enospcIsToldApartWhereItHappened() {
        #expect(
            StoreError.system("open", "/tmp/no/such/folder/f", errno: ENOSPC)
                == .outOfRoom(call: "open", path: "/tmp/no/such/folder/f", inodes: false))
        #expect(
            StoreError.system("open", "/tmp/f", errno: EACCES) == .system(call: "open", path: "/tmp/f", errno: EACCES))
    }
}
