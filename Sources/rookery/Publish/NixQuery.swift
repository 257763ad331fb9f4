// Asks real Nix for a closure's metadata (`nix path-info --json -r`): rookery never guesses
// what Nix would register.
import Foundation
import NixFormats

struct NixQuery {
    /// `--store` argument, or nil for Nix's default store.
    let store: String?

    /// Every path in the closure of `toplevels`, with Nix's NarHash, NarSize, references, deriver.
    func closure(of toplevels: [StorePath]) throws -> [PathInfo] {
        var args = ["path-info", "--extra-experimental-features", "nix-command", "--json", "--recursive"]
        if let store { args += ["--store", store] }
        args += toplevels.map(\.fullPath)
        let output = try run("nix", args)
        guard let items = try JSONSerialization.jsonObject(with: output) as? [[String: Any]] else {
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

    private func run(_ tool: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: errors, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            throw CommandFailure("\(tool) \(arguments.prefix(2).joined(separator: " ")) failed: \(text)")
        }
        return data
    }
}
