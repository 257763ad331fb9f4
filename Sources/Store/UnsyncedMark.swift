// Whether paths a fetch renamed into a root may not be on its disk yet. A fetch does not wait for
// the disk (a syncfs after fetching 512 MiB took 0.1–1.3 s on the bench's ext4, more than the
// fetch), so after a power cut a path renamed into the store can hold files whose names and
// sizes the journal committed and whose data never reached the disk: empty files under the final
// name, mtime 1, looking whole. Nix has the same hole (NixOS/nix#1218). This mark is made
// durable before a fetch renames anything into the store, and removed only after a sync (stage
// 2 does it, after loading the registration); a fetch that finds it checks each path it finds
// present against its NAR hash before it trusts it.
import Glibc

public enum UnsyncedMark {
    static func path(_ root: StoreRoot) -> String { root.rookeryDirectory + "/unsynced" }

    public static func isSet(in root: StoreRoot) -> Bool { access(path(root), F_OK) == 0 }

    /// Sets the mark and waits until it is on the disk, with its directory entry (on ext4 and
    /// XFS the fsync commits the journal, folders made just before it included).
    public static func set(in root: StoreRoot) throws(StoreError) {
        try FileIO.createDirectories(root.rookeryDirectory)
        try FileIO.writeNew(path(root), [], mode: 0o644, durable: true)
        try FileIO.syncDirectory(root.rookeryDirectory)
    }
}
