// Asks real Nix for a closure's metadata (`nix path-info --json -r`): rookery never guesses
// what Nix would register.
import Foundation
import NixFormats
import Store

struct NixQuery {
    /// `--store` argument, or nil for Nix's default store.
    let store: String?

    /// Every path in the closure of `toplevels`, with Nix's NarHash, NarSize, references, deriver.
    func closure(of toplevels: [StorePath]) throws -> [PathInfo] {
        var args = ["path-info", "--extra-experimental-features", "nix-command", "--json", "--recursive"]
        if let store { args += ["--store", store] }
        args += toplevels.map(\.fullPath)
        let run = try Tool.capture(["nix"] + args)
        guard run.status == 0 else {
            throw CommandFailure("nix path-info failed: \(run.lastErrorLine)")
        }
        guard let items = try JSONSerialization.jsonObject(with: Data(run.stdout)) as? [[String: Any]] else {
            throw CommandFailure("nix path-info printed no JSON array")
        }
        return try items.map { item in
            guard let path = item["path"] as? String, let narHash = item["narHash"] as? String,
                let narSize = (item["narSize"] as? NSNumber)?.uint64Value
            else { throw CommandFailure("nix path-info: an entry lacks path, narHash or narSize") }
            let refs = try (item["references"] as? [String] ?? []).map { try StorePath($0) }
            let deriver = try (item["deriver"] as? String).map { try StorePath($0) }
            return PathInfo(
                storePath: try StorePath(path), narHash: try NixHash.parseAny(narHash, algorithm: .sha256),
                narSize: narSize, references: refs, deriver: deriver)
        }
    }

    /// Makes `link` a root of Nix's garbage collector for `path` (`nix-store --realise --add-root`:
    /// the symlink, and Nix's own record of it under gcroots/auto).
    func addRoot(_ path: StorePath, at link: String) throws {
        var args = ["--realise", path.fullPath, "--add-root", link]
        if let store { args = ["--store", store] + args }
        let run = try Tool.capture(["nix-store"] + args)
        guard run.status == 0 else { throw CommandFailure("nix-store --add-root \(link) failed: \(run.lastErrorLine)") }
    }
}
