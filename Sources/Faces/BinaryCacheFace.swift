// A Nix binary cache over HTTP, straight from the store: `/nix-cache-info`,
// `/<hashpart>.narinfo` and `/nar/<hash>.nar`, streamed from the files on disk through a
// NarIndex, with byte ranges so Nix can resume. Only paths on this machine's disk are offered.
// A narinfo carries raven's signatures from the manifest, and on raven (which has the key) a
// signature made on the spot when the manifest has none from that key. Never a Content-Encoding
// header: Nix 2.8 fails on one it did not ask for.
import HTTP
import NixFormats
import Store
import Swarm

public final class BinaryCacheFace {
    public private(set) var index: BinaryCacheIndex
    let store: StoreRoot
    let key: NixSecretKey?
    let priority: Int
    /// Recently built NAR indexes (a download reads one path for many requests).
    private var recent: [(StorePath, NarIndex)] = []
    private var signatures: [StorePath: String] = [:]

    public init(index: BinaryCacheIndex, store: StoreRoot, key: NixSecretKey?, priority: Int = 40) {
        self.index = index
        self.store = store
        self.key = key
        self.priority = priority
    }

    /// Offers the paths of another manifest (a peer learns them as each swarm starts).
    public func add(_ manifest: Manifest) { index.add(manifest) }

    /// The answer for `path`, or nil when it is not a cache URL.
    public func respond(path: Substring) -> HTTPResponse? {
        if path == "/nix-cache-info" {
            return .text(200, NixCacheInfo(priority: priority).render(), type: "text/x-nix-cache-info")
        }
        if path.hasSuffix(".narinfo"), path.hasPrefix("/"), !path.dropFirst().contains("/") {
            let hashPart = path.dropFirst().dropLast(".narinfo".count)
            guard let entry = index.path(hashPart: hashPart), store.looksWhole(entry.info.storePath) else {
                return .notFound
            }
            let text = BinaryCacheIndex.narInfo(entry.info, signatures: signatures(entry)).render()
            return .text(200, text, type: "text/x-nix-narinfo")
        }
        if path.hasPrefix("/nar/"), path.hasSuffix(".nar") {
            let name = path.dropFirst("/nar/".count).dropLast(".nar".count)
            // Any path with this NAR that is on this disk will do: the bytes are the same.
            guard !name.contains("/"),
                let info = index.paths(narHash: name).lazy.map(\.info).first(where: {
                    self.store.looksWhole($0.storePath)
                })
            else {
                return .notFound
            }
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "application/x-nix-nar")],
                body: .stream(size: info.narSize) { [unowned self] range, buffer in
                    try self.index(of: info).read(range, into: buffer)
                },
                acceptsRanges: true)
        }
        return nil
    }

    private func signatures(_ entry: BinaryCacheIndex.Entry) -> [String] {
        guard let key, !entry.signatures.contains(where: { $0.hasPrefix(key.name + ":") }) else {
            return entry.signatures
        }
        if let known = signatures[entry.info.storePath] { return entry.signatures + [known] }
        guard let sig = try? entry.info.sign(with: key) else { return entry.signatures }
        signatures[entry.info.storePath] = sig
        return entry.signatures + [sig]
    }

    private func index(of info: PathInfo) throws -> NarIndex {
        let narIndex: NarIndex
        if let found = recent.first(where: { $0.0 == info.storePath }) {
            narIndex = found.1
        } else {
            narIndex = try NarIndex.build(realPath: store.realPath(info.storePath))
            // The files changed under the store path: do not serve what Nix would reject anyway.
            guard narIndex.narSize == info.narSize else {
                throw StoreError.sizeMismatch(path: narIndex.realPath, expected: info.narSize, got: narIndex.narSize)
            }
            recent.insert((info.storePath, narIndex), at: 0)
            if recent.count > 8 { recent.removeLast() }
        }
        return narIndex
    }
}
