// raven's state folder: `STATE/manifests/<id hex>.manifest`, one signed manifest per publish, and
// `STATE/gcroots/<id hex>-<n>`, the Nix GC root of its n-th toplevel: raven's garbage collector
// keeps every closure a stored manifest lists (the seed serves chunks straight from the store).
import Glibc
import NixFormats
import Sodium
import Swarm

public struct SeedState: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public var manifestsDirectory: String { directory + "/manifests" }

    /// Where the manifest `id` is stored.
    public func file(of id: Digest256) -> String { "\(manifestsDirectory)/\(id.hex).manifest" }

    public var gcRootsDirectory: String { directory + "/gcroots" }

    /// The GC root of the manifest `id`'s toplevel `n` (a symlink Nix registers).
    public func gcRoot(of id: Digest256, toplevel n: Int) -> String { "\(gcRootsDirectory)/\(id.hex)-\(n)" }

    /// Stores a signed manifest under its id, if it reads back as every seed and agent reads it;
    /// returns the file's path. (A label over the decoder's 1024 bytes was signed and stored, then
    /// skipped by the seed and refused by every agent: any such limit stops the publish here.)
    @discardableResult
    public func store(_ signed: SignedManifest) throws(StoreError) -> String {
        let bytes = signed.encode()
        do throws(WireError) {
            _ = try Manifest.decode(try SignedManifest.decode(bytes[...]).body[...])
        } catch {
            throw .unreadableManifest(reason: "\(error)")
        }
        try FileIO.createDirectories(manifestsDirectory)
        let path = file(of: signed.id)
        try FileIO.writeAtomically(path, bytes)
        return path
    }

    /// Removes the stored manifest `id` and its GC roots (its closure is Nix's to collect now,
    /// unless something else holds it); what is already gone is not an error.
    public func remove(_ id: Digest256) throws(StoreError) {
        let path = file(of: id)
        if unlink(path) != 0 && errno != ENOENT { throw .lastSystem("unlink", path) }
        for name in try FileIO.names(in: gcRootsDirectory) where name.hasPrefix(id.hex + "-") {
            let root = gcRootsDirectory + "/" + name
            if unlink(root) != 0 && errno != ENOENT { throw .lastSystem("unlink", root) }
        }
    }

    /// Every stored manifest file, decoded (not verified: raven signed them itself). A file that
    /// cannot be read or decoded stays where it is and goes to `skipped`: one bad file must not
    /// keep raven from serving or publishing the others.
    public func load(skipped: (StoreError) -> Void = { _ in }) throws(StoreError) -> [SignedManifest] {
        let fd = open(manifestsDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return [] }
            throw .lastSystem("open", manifestsDirectory)
        }
        defer { close(fd) }
        var result: [SignedManifest] = []
        for name in try directoryEntries(fd: fd, path: manifestsDirectory).map({ String(decoding: $0, as: UTF8.self) })
        where name.hasSuffix(".manifest") && !name.hasPrefix(".") {
            let path = manifestsDirectory + "/" + name
            do {
                result.append(
                    try SignedManifest.decode(try FileIO.read(path, limit: ManifestLimits.maxBodyBytes + 4096)[...]))
            } catch let error as StoreError {
                skipped(error)
            } catch {
                skipped(.corruptFile(path: path, reason: "\(error)"))
            }
        }
        return result
    }
}
