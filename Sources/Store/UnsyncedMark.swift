// Which store paths a fetch renamed into a root may not be on its disk yet. A fetch does not wait
// for the disk (a syncfs after fetching 512 MiB took 0.1–1.3 s on the bench's ext4, more than the
// fetch), so after a power cut a path renamed into the store can hold files whose names and
// sizes the journal committed and whose data never reached the disk: empty files under the final
// name, mtime 1, looking whole. Nix has the same hole (NixOS/nix#1218).
// So before a fetch renames anything into the store, it lists the names it will rename in
// `ROOT/nix/var/rookery/unsynced/BOOT_ID`, durably; stage 2 removes this boot's list once a
// sync is done. A list of another boot names paths in doubt: a fetch checks those it finds
// against their NAR hashes before it trusts them, and strikes them off. A name the fetch cannot
// check (not in its manifest: the generation rolled back from) stays listed for the fetch that
// can. Within the boot that wrote them the paths cannot have lost data (what was written stays
// readable until the machine goes down): the agent's next attempt, or `rookery fetch` run again
// by hand, trusts them as they are.
import Glibc

public enum UnsyncedMark {
    static func folder(_ root: StoreRoot) -> String { root.rookeryDirectory + "/unsynced" }

    /// This boot's id (`/proc/sys/kernel/random/boot_id`, without its newline), or `unknownBoot`
    /// where /proc is not mounted.
    public static let currentBoot: String = {
        let id = (try? FileIO.read("/proc/sys/kernel/random/boot_id", limit: 64)).map {
            String(decoding: $0.filter { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        }
        return id.flatMap { $0.isEmpty ? nil : $0 } ?? unknownBoot
    }()

    /// The list of boots that could not tell their id: in doubt for every fetch, its own too, and
    /// never struck off (a check in the boot that wrote a path may read the page cache, not the
    /// disk); stage 2 cannot remove it either.
    public static let unknownBoot = "unknown-boot"

    /// The names listed by boots other than `boot`: paths that may have lost data. Where a
    /// list cannot be read, or the mark is still the single file an earlier rookery made (no
    /// list), every name in `store`.
    public static func doubtful(in root: StoreRoot, store: Set<String>, boot: String = currentBoot) -> Set<String> {
        if isSingleFile(root) { return store }
        var names = Set<String>()
        for (_, listed) in otherLists(in: root, boot: boot) {
            guard let listed else { return store }
            names.formUnion(listed)
        }
        return names
    }

    /// Adds `names` to this boot's list and waits until it is on the disk, with its directory
    /// entry (on ext4 and XFS the fsync commits the journal, folders made just before included).
    public static func record(_ names: [String], in root: StoreRoot, boot: String = currentBoot) throws(StoreError) {
        try dropSingleFile(root)
        let file = folder(root) + "/" + boot
        let listed = Set(lines(of: file) ?? [])
        let added = names.filter { !listed.contains($0) }
        guard !added.isEmpty else { return }
        try FileIO.createDirectories(folder(root))
        try FileIO.writeAtomically(file, render(listed.sorted() + added), durable: true)
        try FileIO.syncDirectory(folder(root))
    }

    /// Strikes `names` (checked, or to be fetched again and listed by this boot) off the lists
    /// of other boots; a list left empty goes. Not durable: a list that comes back after a power
    /// cut only costs a second check.
    public static func resolve(_ names: Set<String>, in root: StoreRoot, boot: String = currentBoot) throws(StoreError)
    {
        try dropSingleFile(root)
        for (file, listed) in otherLists(in: root, boot: boot) {
            guard let listed, !file.hasSuffix("/" + unknownBoot), listed.contains(where: names.contains) else {
                continue
            }
            let left = listed.filter { !names.contains($0) }
            if left.isEmpty {
                if unlink(file) != 0 && errno != ENOENT { throw .lastSystem("unlink", file) }
            } else {
                try FileIO.writeAtomically(file, render(left), durable: false)
            }
        }
    }

    /// The mark of an earlier rookery: one empty file where the lists' folder is now. It said
    /// "check every path present"; once a fetch has, it goes (as its stage 2 removed it).
    private static func isSingleFile(_ root: StoreRoot) -> Bool {
        var st = stat()
        return lstat(folder(root), &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    private static func dropSingleFile(_ root: StoreRoot) throws(StoreError) {
        if isSingleFile(root) && unlink(folder(root)) != 0 && errno != ENOENT {
            throw .lastSystem("unlink", folder(root))
        }
    }

    /// Each list but `boot`'s, with its names (nil: it cannot be read).
    private static func otherLists(in root: StoreRoot, boot: String) -> [(file: String, names: [String]?)] {
        let names = (try? FileIO.names(in: folder(root))) ?? []
        return names.filter { ($0 != boot || $0 == unknownBoot) && !$0.hasPrefix(".") }.sorted().map { name in
            let file = folder(root) + "/" + name
            return (file, lines(of: file))
        }
    }

    /// The names in `file`: none when it is not there, nil when it cannot be read.
    private static func lines(of file: String) -> [String]? {
        do {
            let bytes = try FileIO.read(file, limit: 256 << 20)
            return bytes.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        } catch {
            return error == .system(call: "open", path: file, errno: ENOENT) ? [] : nil
        }
    }

    private static func render(_ names: [String]) -> [UInt8] { Array(names.map { $0 + "\n" }.joined().utf8) }
}
