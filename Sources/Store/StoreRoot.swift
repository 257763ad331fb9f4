// A store on disk seen through its root: `/` on a booted machine, `/mnt-root` in the initrd,
// any folder for tests (the layout of `nix-store --store DIR`). The logical store directory
// stays /nix/store; the real one is <root>/nix/store.
import Glibc
import NixFormats
import Sodium

public struct StoreRoot: Sendable {
    public let root: String

    public init(root: String) {
        var r = root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        self.root = r
    }

    /// `<root>/nix/store`.
    public var storeDirectory: String { (root == "/" ? "" : root) + StorePath.storeDirectory }

    /// `<root>/nix/var/rookery`: a fetch's chunk cache, registration and lock.
    public var rookeryDirectory: String { (root == "/" ? "" : root) + "/nix/var/rookery" }

    /// Where `path` lives on disk.
    public func realPath(_ path: StorePath) -> String { storeDirectory + "/" + path.baseName }

    /// The paths among `paths` with nothing at their place on disk.
    public func absent(_ paths: some Sequence<StorePath>) -> [StorePath] {
        var st = stat()
        return paths.filter { lstat(realPath($0), &st) != 0 && errno == ENOENT }
    }

    /// Creates `<root>/nix/store` (and its parents) if missing.
    public func createStoreDirectory() throws(StoreError) {
        try FileIO.createDirectories(storeDirectory)
    }

    /// Whether the tree at `path` is whole as far as its top entry tells. Nix sets every store
    /// path's mtime to 1 before it registers it, and a fetch renames only whole trees into the
    /// store, with mtime 1. But Nix substitutes into the final name and relies on its database:
    /// a substitution cut short (a lab PC switched off during `nix-shell -p …`) leaves a partial,
    /// unregistered tree there, with the time it was made (seen with nix-store 2.8 -r from an
    /// HTTP cache, killed half-way). Taken for whole, it was registered valid as it was.
    public func looksWhole(_ path: StorePath) -> Bool {
        var st = stat()
        return lstat(realPath(path), &st) == 0 && st.st_mtim.tv_sec == 1
    }

    /// The SHA-256 and size of the NAR of the tree at `path` (reads all of it).
    public func narHash(of path: StorePath) throws(StoreError) -> (sha256: Digest256, size: UInt64) {
        var sink = NarHashingSink()
        try dump(path, to: &sink)
        return (sink.hasher.finalize(), sink.count)
    }

    /// Whether the tree at `path` dumps to a NAR of this SHA-256 and size (false if unreadable).
    public func narMatches(_ path: StorePath, sha256: Digest256, size: UInt64) -> Bool {
        guard let nar = try? narHash(of: path) else { return false }
        return nar.size == size && nar.sha256 == sha256
    }

    /// Starts restoring `path`: feed its NAR, then commit with its expected hash and size.
    public func importPath(_ path: StorePath, limits: NarLimits = NarLimits(), checksNarHash: Bool = true)
        throws(StoreError) -> NarImport
    {
        try createStoreDirectory()
        return try NarImport(destination: realPath(path), limits: limits, checksNarHash: checksNarHash)
    }

    /// Streams the NAR of `path` into `sink`.
    public func dump(_ path: StorePath, to sink: inout some ByteSink) throws(StoreError) {
        try NarDumper().dump(path: realPath(path), to: &sink)
    }
}
