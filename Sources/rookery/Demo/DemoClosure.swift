// The demo's closure: synthetic store paths written straight into a folder's nix/store, with the
// mix of a system closure (many small paths, a few large ones, a toplevel that refers to all),
// and each path's Nix metadata computed from its NAR. Synthetic, not built with nix-bin: a Nix
// build of a few hundred derivations takes longer than the demo's minute; real Nix checks the
// clients' stores at the end instead, when it is installed.
import Glibc
import NixFormats
import Sodium
import Store

struct DemoClosure {
    let toplevel: StorePath
    let paths: [PathInfo]

    var narBytes: UInt64 { paths.reduce(0) { $0 + $1.narSize } }

    /// Writes `small` paths of 2–64 KiB (a few files each), `large` paths sharing `largeMiB`, and a
    /// toplevel into `store`.
    static func write(into store: StoreRoot, small: Int, large: Int, largeMiB: Int) throws -> DemoClosure {
        try store.createStoreDirectory()
        var made: [(StorePath, [StorePath])] = []
        for i in 0..<small {
            let path = try newPath("demo-lib\(i)")
            let dir = store.realPath(path)
            try FileIO.createDirectories(dir + "/lib")
            let files = 1 + Int(randomBytes(1)[0] % 4)
            for f in 0..<files {
                let size = 2048 + Int(randomBytes(2).withUnsafeBytes { $0.load(as: UInt16.self) } % 15360)
                try FileIO.writeNew(dir + "/lib/part\(f)", randomBytes(size), mode: 0o644, durable: false)
            }
            // Some libraries depend on an earlier one, as in a real closure.
            let refs = i > 0 && i % 3 == 0 ? [made[i / 2].0] : []
            made.append((path, refs))
        }
        for i in 0..<large {
            let path = try newPath("demo-big\(i)")
            let dir = store.realPath(path)
            try FileIO.createDirectories(dir + "/share")
            try FileIO.writeNew(
                dir + "/share/blob", randomBytes(largeMiB << 20 / max(large, 1)), mode: 0o644, durable: false)
            guard symlink("blob", dir + "/share/link") == 0 else { throw StoreError.lastSystem("symlink", dir) }
            made.append((path, []))
        }
        let toplevel = try newPath("demo-system")
        let top = store.realPath(toplevel)
        try FileIO.createDirectories(top + "/bin")
        try FileIO.writeNew(top + "/bin/init", Array("#!/bin/sh\necho booted\n".utf8), mode: 0o755, durable: false)
        for (path, _) in made {
            guard symlink(path.fullPath, top + "/" + String(path.name)) == 0 else {
                throw StoreError.lastSystem("symlink", top)
            }
        }
        made.append((toplevel, made.map(\.0)))
        let infos = try made.map { path, refs in
            let nar = try store.narHash(of: path)
            return PathInfo(storePath: path, narHash: NixHash(sha256: nar.sha256), narSize: nar.size, references: refs)
        }
        return DemoClosure(toplevel: toplevel, paths: infos)
    }

    private static func newPath(_ name: String) throws -> StorePath {
        try StorePath(StorePath.storeDirectory + "/" + Nix32.encode(randomBytes(20)) + "-" + name)
    }
}
