// The validity registration `nix-store --load-db` reads, as nixpkgs' closureInfo writes it:
// per path `path\nnarHash\nnarSize\nderiver-or-empty\nN\nref…\n`, every line '\n'-terminated.
// Reference: NixOS/nix src/libstore/store-api.cc (decodeValidPathInfo).

public enum Registration {
    /// Renders records in the order given (load-db accepts references anywhere in the batch).
    public static func render(_ paths: [PathInfo]) -> String {
        var out = ""
        for p in paths {
            out += p.storePath.fullPath + "\n"
            out += p.narHash.description + "\n"
            out += "\(p.narSize)\n"
            out += (p.deriver?.fullPath ?? "") + "\n"
            out += "\(p.references.count)\n"
            for r in p.references.sorted() { out += r.fullPath + "\n" }
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
