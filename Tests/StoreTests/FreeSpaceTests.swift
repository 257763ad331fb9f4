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
}
