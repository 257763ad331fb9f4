// The validity registration `nix-store --load-db` reads, as nixpkgs' closureInfo writes it:
// per path `path\nnarHash\nnarSize\nderiver-or-empty\nN\nref…\n`, every line '\n'-terminated.
// Reference: NixOS/nix src/libstore/store-api.cc (decodeValidPathInfo).

public enum Registration {
    /// Renders records in the order given (load-db accepts references anywhere in the batch).
    public static func render(_ paths: [PathInfo]) -> String {
        var out = ""
        out.reserveCapacity(paths.reduce(0) { $0 + 140 + 60 * $1.references.count })
        func line(_ text: some StringProtocol) {
            out += text
            out += "\n"
        }
        func path(_ p: StorePath?) {
            if let p {
                out += StorePath.storeDirectory
                out += "/"
                out += p.baseName
            }
            out += "\n"
        }
        for p in paths {
            path(p.storePath)
            line(p.narHash.description)
            line(String(p.narSize))
            path(p.deriver)
            line(String(p.references.count))
            // A manifest's references come sorted already (a toplevel may have a thousand).
            let sorted = zip(p.references, p.references.dropFirst()).allSatisfy { $0 < $1 }
            for r in sorted ? p.references : p.references.sorted() { path(r) }
        }
        return out
    }

    /// Parses what `render` (or closureInfo) writes.
    public static func parse(_ text: String) throws(NixFormatError) -> [PathInfo] {
        guard text.isEmpty || text.hasSuffix("\n") else { throw .badRegistration("missing final newline") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()[...]
        var result: [PathInfo] = []
        func take() throws(NixFormatError) -> Substring {
            guard let l = lines.popFirst() else { throw .badRegistration("record is cut short") }
            return l
        }
        while !lines.isEmpty {
            let path = try StorePath(try take())
            let hash = try NixHash.parseAny(try take(), algorithm: .sha256)
            guard let size = UInt64(try take()) else { throw .badRegistration("invalid narSize for \(path)") }
            let deriverLine = try take()
            let deriver = deriverLine.isEmpty ? nil : try StorePath(deriverLine)
            guard let count = Int(try take()), count >= 0 else { throw .badRegistration("invalid count for \(path)") }
            var refs: [StorePath] = []
            for _ in 0..<count { refs.append(try StorePath(try take())) }
            result.append(PathInfo(storePath: path, narHash: hash, narSize: size, references: refs, deriver: deriver))
        }
        return result
    }
}
