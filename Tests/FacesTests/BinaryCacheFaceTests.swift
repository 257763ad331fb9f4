// The binary cache face's answers, straight from `respond(path:)`, for a store in a folder.
import NixFormats
import Sodium
import Store
import Swarm
import TestSupport
import Testing

@testable import Faces

@Suite struct BinaryCacheFaceTests {
    /// Two paths of other names with the same NAR (one file copied into two outputs) share the
    /// NAR's URL. A node that holds only the one its manifest lists second serves the NAR from it
    /// (it answered 404: the URL led to the first path only).
    @Test func aNarTwoPathsShareIsServedFromTheOneOnDisk() throws {
        let tmp = TemporaryDirectory()
        let root = StoreRoot(root: tmp.sub("root"))
        try root.createStoreDirectory()
        let first = try StorePath("/nix/store/" + String(repeating: "a", count: 32) + "-firmware")
        let second = try StorePath("/nix/store/" + String(repeating: "b", count: 32) + "-firmware-copy")
        // `second` restored as a fetch does (whole, mtime 1); `first` half-written under its final
        // name, as Nix leaves a substitution cut short (the time it was made): not served.
        try TreeBuilder.build(.file("src", Array("the same bytes\n".utf8)), at: tmp.path)
        var source = MemorySink()
        try NarDumper().dump(path: tmp.sub("src"), to: &source)
        let importer = try root.importPath(second)
        try importer.feed(source.bytes[...])
        try importer.commit()
        try FileIO.writeNew(root.realPath(first), Array("the same".utf8), mode: 0o444, durable: false)
        var nar = MemorySink()
        try root.dump(second, to: &nar)
        let narHash = SHA256.hash(nar.bytes)
        let manifest = Manifest(
            layout: try ChunkLayout(chunkSize: 65536), createdAt: 0, label: "t", toplevels: [],
            paths: [first, second].map {
                ManifestPath(
                    storePath: $0, narHash: narHash, narSize: UInt64(nar.bytes.count), references: [], chunks: [])
            })
        let face = BinaryCacheFace(index: BinaryCacheIndex(manifests: [manifest]), store: root, key: nil)
        let url = "/nar/\(NixHash(sha256: narHash).nix32).nar"

        #expect(face.respond(path: "/\(first.hashPart).narinfo")?.status == 404, "cut short on this disk")
        let narinfo = try #require(face.respond(path: "/\(second.hashPart).narinfo"))
        guard case .bytes(let text) = narinfo.body else { throw TestFailure("a narinfo is text") }
        #expect(narinfo.status == 200 && String(decoding: text, as: UTF8.self).contains("URL: \(url.dropFirst())"))
        let answer = try #require(face.respond(path: Substring(url)))
        #expect(answer.status == 200)
        var body = [UInt8](repeating: 0, count: Int(answer.body.size))
        try body.withUnsafeMutableBytes { try answer.body.read(0..<UInt64($0.count), into: $0) }
        let same = body == nar.bytes
        #expect(same)
        #expect(face.respond(path: "/nar/\(String(repeating: "0", count: 52)).nar")?.status == 404)
    }
}
