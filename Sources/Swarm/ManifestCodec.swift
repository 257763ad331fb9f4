// The manifest's canonical byte layout (protocol/SPEC.md §3). Decoding is strict: a body is
// accepted only if re-encoding it gives the same bytes, so the signature covers exactly one
// meaning.
import NixFormats
import Sodium

public enum ManifestLimits {
    public static let maxBodyBytes = 64 << 20
    public static let maxPaths = 1 << 20
    public static let maxToplevels = 1024
    public static let maxLabelBytes = 1024
    /// Narinfo signatures per path, and the length of one (`name:` and 88 base64 characters).
    public static let maxPathSignatures = 8
    public static let maxPathSignatureBytes = 512
}

extension Manifest {
    static let magic: [UInt8] = Array("RKMANIF2".utf8)

    /// The canonical body bytes (what is signed).
    public func encode(reservingCapacity capacity: Int = 0) -> [UInt8] {
        var w = WireWriter()
        w.bytes.reserveCapacity(capacity)
        w.raw(Self.magic)
        w.u32(layout.chunkSize)
        w.u64(createdAt)
        w.string(label)
        w.u32(UInt32(paths.count))
        for p in paths {
            w.string(p.storePath.baseName)
            w.digest(p.narHash)
            w.u64(p.narSize)
            w.string(p.deriver?.baseName ?? "")
            w.u32(UInt32(p.references.count))
            for r in p.references { w.u32(UInt32(r)) }
            for c in p.chunks { w.digest(c.digest) }
            w.u8(UInt8(p.signatures.count))
            for sig in p.signatures { w.string(sig) }
        }
        w.u32(UInt32(toplevels.count))
        for t in toplevels { w.u32(UInt32(index(of: t) ?? Int(UInt32.max))) }
        return w.bytes
    }

    /// Decodes and checks a body; throws on anything non-canonical.
    public static func decode(_ body: ArraySlice<UInt8>) throws(WireError) -> Manifest {
        guard body.count <= ManifestLimits.maxBodyBytes else {
            throw .tooLarge(what: "manifest", size: UInt64(body.count), limit: ManifestLimits.maxBodyBytes)
        }
        var r = WireReader(body)
        guard Array(try r.take(magic.count)) == magic else { throw .badMagic }
        let layout = try ChunkLayout(chunkSize: try r.u32())
        let createdAt = try r.u64()
        let label = try r.string(limit: ManifestLimits.maxLabelBytes)
        let count = Int(try r.u32())
        guard count <= ManifestLimits.maxPaths else {
            throw .tooLarge(what: "path count", size: UInt64(count), limit: ManifestLimits.maxPaths)
        }
        var paths: [ManifestPath] = []
        paths.reserveCapacity(min(count, r.remaining / 64))
        for _ in 0..<count {
            let storePath = try storePath(try r.string(limit: 255))
            let narHash = try r.digest()
            let narSize = try r.u64()
            guard narSize > 0 else { throw .malformed("\(storePath) has NarSize 0") }
            let deriverName = try r.string(limit: 255)
            let deriver = deriverName.isEmpty ? nil : try Self.storePath(deriverName)
            let refCount = Int(try r.u32())
            guard refCount <= count else { throw .malformed("\(storePath) has more references than paths") }
            var refs: [Int] = []
            for _ in 0..<refCount {
                let ref = Int(try r.u32())
                guard ref < count, refs.last.map({ $0 < ref }) ?? true else {
                    throw .malformed("\(storePath) has references out of range or order")
                }
                refs.append(ref)
            }
            let chunkCount = layout.chunkCount(narSize: narSize)
            guard UInt64(chunkCount) * 32 <= UInt64(r.remaining) else { throw .truncated }
            var chunks: [ChunkID] = []
            chunks.reserveCapacity(chunkCount)
            for _ in 0..<chunkCount { chunks.append(ChunkID(try r.digest())) }
            let sigCount = Int(try r.u8())
            guard sigCount <= ManifestLimits.maxPathSignatures else {
                throw .malformed("\(storePath) has more than \(ManifestLimits.maxPathSignatures) signatures")
            }
            var signatures: [String] = []
            for _ in 0..<sigCount { signatures.append(try r.string(limit: ManifestLimits.maxPathSignatureBytes)) }
            if let last = paths.last, !(last.storePath < storePath) {
                throw .malformed("paths are not sorted and unique at \(storePath)")
            }
            paths.append(
                ManifestPath(
                    storePath: storePath, narHash: narHash, narSize: narSize, deriver: deriver, references: refs,
                    chunks: chunks, signatures: signatures))
        }
        let toplevelCount = Int(try r.u32())
        guard toplevelCount >= 1, toplevelCount <= ManifestLimits.maxToplevels else {
            throw .malformed("a manifest names 1…\(ManifestLimits.maxToplevels) toplevels, not \(toplevelCount)")
        }
        var toplevels: [StorePath] = []
        for _ in 0..<toplevelCount {
            let i = Int(try r.u32())
            guard i < count else { throw .malformed("toplevel index \(i) out of range") }
            guard !toplevels.contains(paths[i].storePath) else { throw .malformed("toplevel listed twice") }
            toplevels.append(paths[i].storePath)
        }
        guard r.isAtEnd else { throw .malformed("\(r.remaining) bytes after the manifest") }
        let manifest = Manifest(layout: layout, createdAt: createdAt, label: label, toplevels: toplevels, paths: paths)
        // Every field above has one encoding, so this holds unless a rule was missed: then the
        // same manifest would have two ids.
        guard sameBytes(manifest.encode(reservingCapacity: body.count), body) else {
            throw .malformed("manifest is not in canonical form")
        }
        return manifest
    }

    private static func storePath(_ baseName: String) throws(WireError) -> StorePath {
        do { return try StorePath(baseName) } catch { throw .malformed("\(error)") }
    }
}
