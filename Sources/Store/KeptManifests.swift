// The signed manifest of each closure a fetch completed into a root, kept as
// ROOT/nix/var/rookery/manifests/<toplevel's base name>: a later boot of the same generation
// checks the paths against it and needs no seed at all (raven's seed down, the disk whole).
// The file is a copy of what came over the wire and is verified again at every use.
import Glibc
import NixFormats
import Swarm

public enum KeptManifests {
    /// How many are kept, the newest: a machine boots one of its last few generations.
    public static let limit = 8

    static func folder(_ root: StoreRoot) -> String { root.rookeryDirectory + "/manifests" }

    static func file(_ toplevel: StorePath, _ root: StoreRoot) -> String { folder(root) + "/" + toplevel.baseName }

    /// Keeps `bytes` for `toplevel`; the oldest files beyond `limit` go. Not fsynced: a copy lost
    /// in a crash costs the next boot only its asking the seed.
    public static func keep(_ bytes: [UInt8], toplevel: StorePath, in root: StoreRoot) throws(StoreError) {
        try FileIO.createDirectories(folder(root))
        try FileIO.writeAtomically(file(toplevel, root), bytes, durable: false)
        var others: [(name: String, seconds: Int)] = []
        for name in try FileIO.names(in: folder(root)) where !name.hasPrefix(".") && name != toplevel.baseName {
            var st = stat()
            if stat(folder(root) + "/" + name, &st) == 0 { others.append((name, st.st_mtim.tv_sec)) }
        }
        for old in others.sorted(by: { $0.seconds > $1.seconds }).dropFirst(limit - 1) {
            _ = unlink(folder(root) + "/" + old.name)
        }
    }

    /// The kept file for `toplevel`, if there is one (read up to the largest manifest's size).
    public static func read(_ toplevel: StorePath, in root: StoreRoot) -> [UInt8]? {
        try? FileIO.read(file(toplevel, root), limit: ManifestLimits.maxBodyBytes + 4096)
    }
}
