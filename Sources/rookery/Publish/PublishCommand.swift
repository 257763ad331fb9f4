// `rookery publish`: sign and store the manifest of one or more closures on raven.
import ArgumentParser
import Foundation
import NixFormats
import Publishing
import Sodium
import Store
import Swarm

struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish the signed manifest of the closure of TOPLEVEL… into the seed's state folder.")

    @Argument(help: "Store paths whose closures to publish (a system's toplevel), or links to them (./result).")
    var toplevels: [String]

    @Option(help: "The seed's state folder.")
    var state: String

    @Option(help: "The Nix store to read, as `nix --store` takes it (a folder means a chroot store).")
    var store: String?

    @Option(help: "The Nix binary-cache secret key file that signs the manifest.")
    var key: String

    @Option(help: "Text shown in boot menus and status.")
    var label: String = ""

    @Option(help: "Chunk size in bytes: a power of two from 64 KiB to 4 MiB.")
    var chunkSize: UInt32 = ChunkLayout.defaultChunkSize

    @Flag(help: "Read and hash every path, also those an earlier manifest signed by KEY already checked.")
    var rehash = false

    @Option(
        help: ArgumentHelp(
            """
            Keep only the newest N manifests signed by KEY (this one among them) and remove the \
            older ones: the boot menus' generations. Manifests signed by other keys are kept.
            """, valueName: "N"))
    var keep: Int?

    func validate() throws {
        if let keep, keep < 1 { throw ValidationError("--keep takes a number ≥ 1") }
        // What every reader of the manifest accepts, on one line of the boot menus: said before
        // any path is read (SeedState.store refuses whatever a reader would, after the work).
        guard label.utf8.count <= ManifestLimits.maxLabelBytes else {
            throw ValidationError("--label takes at most \(ManifestLimits.maxLabelBytes) bytes")
        }
        guard !label.containsControlBytes else {
            throw ValidationError("--label is one line of text, without control characters (boot menus show it)")
        }
    }

    /// The folder of a chroot store, as Nix reads --store: a value with a "/" and no "://"
    /// (Nix's isNonUriPath), relative to the working directory. (`--store ./store` went to Nix
    /// as a chroot store, and rookery read the paths from the machine's own /nix/store.)
    static func chrootFolder(_ store: String) -> String? {
        guard store.contains("/"), !store.contains("://") else { return nil }
        return store.hasPrefix("/") ? store : FileManager.default.currentDirectoryPath + "/" + store
    }

    /// A folder given as --store must hold a store already: Nix makes a new, empty one wherever
    /// it is told to (a typo left a tree of empty folders; `--store /nix/store` one inside the
    /// machine's own store), and then only says the path is not valid.
    static func checkChrootStore(_ folder: String) throws(CommandFailure) {
        let root = StoreRoot(root: folder)
        if FileIO.isDirectory(root.storeDirectory) { return }
        if (root.root + "/").hasSuffix(StorePath.storeDirectory + "/") {
            throw CommandFailure(
                "--store takes the folder that holds nix/store (/ for this machine's own store), not '\(folder)' itself"
            )
        }
        throw CommandFailure(
            "no Nix store at '\(folder)': \(root.storeDirectory) is not a folder (--store takes the root of a chroot store)"
        )
    }

    func run() throws {
        do {
            let secret = try NixSecretKey(parsing: String(decoding: try FileIO.read(key, limit: 4096), as: UTF8.self))
            let roots = try toplevels.map { try ToplevelArgument.storePath($0) }
            let folder = store.flatMap(Self.chrootFolder)
            if let folder { try Self.checkChrootStore(folder) }
            let nix = NixQuery(store: folder ?? store)
            let closure = try nix.closure(of: roots)
            // A chroot store is a folder; the default store is the machine's own /.
            let storeRoot = StoreRoot(root: folder ?? "/")
            let layout = try ChunkLayout(chunkSize: chunkSize)
            let seedState = SeedState(directory: state)
            let stored = try seedState.load { error in
                FileHandle.standardError.write(Data("rookery publish: skipping a manifest file: \(error)\n".utf8))
            }
            // Each decoded once; only those this key signed are reused or replaced: what raven
            // itself checked, not a file put beside them.
            let decoded = stored.compactMap { s -> (id: Digest256, manifest: Manifest, mine: Bool)? in
                if let m = try? s.verified(trustedKeys: [secret.publicKey]) { return (s.id, m, true) }
                return (try? Manifest.decode(s.body[...])).map { (s.id, $0, false) }
            }
            let mine = decoded.filter(\.mine).map { (id: $0.id, manifest: $0.manifest) }
            let earlier = rehash ? EarlierPublishes() : EarlierPublishes(mine.map(\.manifest), layout: layout)
            let read = closure.filter { earlier.verified($0) == nil }
            let createdAt = Republishing.createdAt(
                now: UInt64(Date().timeIntervalSince1970), after: decoded.map(\.manifest))
            let manifest = try Publisher.manifest(
                of: closure, toplevels: roots, store: storeRoot, layout: layout, createdAt: createdAt, label: label,
                signingKeys: [secret], earlier: earlier)
            let signed = SignedManifest.sign(manifest, with: [secret])
            // Rooted before it can be served: raven's garbage collector keeps the closure until
            // the manifest is removed (replaced, --keep). A failure leaves neither behind.
            let file: String
            do {
                try FileIO.createDirectories(seedState.gcRootsDirectory)
                for (n, top) in roots.enumerated() {
                    try nix.addRoot(top, at: seedState.gcRoot(of: signed.id, toplevel: n))
                }
                file = try seedState.store(signed)
            } catch {
                try? seedState.remove(signed.id)
                throw error
            }
            // A chunk that repeats (identical files, runs of zeros) is fetched once.
            let table = ChunkTable(manifest: manifest)
            let replaced = Republishing.replaced(by: manifest, among: mine).filter { $0 != signed.id }
            for id in replaced { try seedState.remove(id) }
            print(
                "published \(signed.id.hex): \(manifest.paths.count) paths, \(manifest.narBytes) NAR bytes, "
                    + "\(manifest.paths.reduce(0) { $0 + $1.chunks.count }) chunks (\(table.count) distinct, "
                    + "\(table.bytes) bytes); read and hashed \(read.count) paths, "
                    + "\(read.reduce(0) { $0 + $1.narSize }) NAR bytes (the rest checked by an earlier publish); "
                    + "replaces \(replaced.count) earlier manifests of the same closure → \(file)")
            if let keep {
                let kept = mine.filter { !replaced.contains($0.id) && $0.id != signed.id } + [(signed.id, manifest)]
                let old = Republishing.beyond(newest: keep, among: kept)
                for id in old { try seedState.remove(id) }
                print("removed \(old.count) older manifests signed by this key (--keep \(keep))")
            }
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(error)
        }
    }
}
