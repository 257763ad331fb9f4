// `rookery-bench --manifest FILE KEY`: what a client spends on a manifest before it asks for any
// chunk, and on its registration at the end; each step the best of 20 (for a 1000-path manifest,
// the small-paths fetch's work that no other work overlaps).
import NixFormats
import Sodium
import Store
import Swarm

func manifestBench(file: String, key: String) throws {
    let bytes = try FileIO.read(file)
    let trusted = try NixPublicKey(parsing: key)
    var signed = try SignedManifest.decode(bytes[...])
    let split = bestOf(20) { signed = try! SignedManifest.decode(bytes[...]) }
    let verify = bestOf(20) { _ = trusted.key.verify(signature: signed.signatures[0].bytes, of: signed.body) }
    var manifest = try Manifest.decode(signed.body[...])
    let decode = bestOf(20) { manifest = try! Manifest.decode(signed.body[...]) }
    let encode = bestOf(20) { _ = manifest.encode(reservingCapacity: signed.body.count) }
    let table = bestOf(20) { _ = ChunkTable(manifest: manifest) }
    let registration = bestOf(20) { _ = Registration.render(manifest.paths.indices.map(manifest.pathInfo)) }
    func us(_ seconds: Double) -> String { "\(Int(seconds * 1e6)) µs" }
    print(
        "manifest \(bytes.count) bytes, \(manifest.paths.count) paths: split \(us(split)), signature \(us(verify)), "
            + "body decode \(us(decode)) (of which re-encoding for the canonical check \(us(encode))), "
            + "chunk table \(us(table)), registration of every path \(us(registration))")
}
