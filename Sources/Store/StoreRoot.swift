// A store on disk seen through its root: `/` on a booted machine, `/mnt-root` in the initrd,
// any folder for tests (the layout of `nix-store --store DIR`). The logical store directory
// stays /nix/store; the real one is <root>/nix/store.
import Glibc
import NixFormats

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

    /// Creates `<root>/nix/store` (and its parents) if missing.
    public func createStoreDirectory() throws(StoreError) {
        try FileIO.createDirectories(storeDirectory)
    }

    /// True when the path's tree exists under the root (validity is Nix's database's business).
    public func exists(_ path: StorePath) -> Bool {
        var st = stat()
        return lstat(realPath(path), &st) == 0
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
