// Fuzz targets for the protocol decoders: frames and signed manifests.
import NixFormats
import Sodium
import Swarm

extension FuzzTarget {
    /// Decodes frames from a stream fed in uneven pieces; every decoded message must re-encode
    /// to exactly the bytes it came from.
    public static let frameDecoder = FuzzTarget(name: "frame-decoder", seeds: SwarmSeeds.frames) { input in
        var decoder = FrameDecoder()
        var reencoded: [UInt8] = []
        var offset = 0
        var step = 1
        do {
            while offset < input.count {
                let end = min(input.count, offset + step)
                decoder.append(input[offset..<end])
                while let message = try decoder.next() { reencoded += FrameCodec.encode(message) }
                offset = end
                step = step * 3 % 17 + 1
            }
        } catch {
            return false
        }
        precondition(input.starts(with: reencoded), "decoded frames do not re-encode to their bytes")
        precondition(reencoded.count + decoder.bufferedBytes == input.count, "decoder lost bytes")
        return !reencoded.isEmpty
    }

    /// Signed manifest file form, then (unsigned) body decoding: parse or refuse, never crash;
    /// whatever decodes re-encodes to the same bytes.
    public static let manifest = FuzzTarget(name: "manifest", seeds: SwarmSeeds.manifests) { input in
        var accepted = false
        if let signed = try? SignedManifest.decode(input[...]) {
            precondition(signed.encode() == input, "signed manifest does not re-encode")
            if let body = try? Manifest.decode(signed.body[...]) {
                precondition(body.encode() == signed.body, "manifest body does not re-encode")
                accepted = true
            }
        }
        if let body = try? Manifest.decode(input[...]) {
            precondition(body.encode() == input, "manifest body does not re-encode")
            accepted = true
        }
        return accepted
    }
}

enum SwarmSeeds {
    static var manifest: Manifest {
        let layout = try! ChunkLayout(chunkSize: 64 * 1024)
        let a = try! StorePath("aap2hphvk98rkk9ywlqpp587rjdcgnc2-a")
        let b = try! StorePath("bbp2hphvk98rkk9ywlqpp587rjdcgnc2-b")
        return Manifest(
            layout: layout, createdAt: 1, label: "seed", toplevels: [b],
            paths: [
                ManifestPath(
                    storePath: a, narHash: SHA256.hash([1]), narSize: 70_000, references: [0],
                    chunks: [ChunkID(of: [1]), ChunkID(of: [2])]),
                ManifestPath(
                    storePath: b, narHash: SHA256.hash([2]), narSize: 8, deriver: a, references: [0, 1],
                    chunks: [ChunkID(of: [3])]),
            ])
    }

    static var manifests: [[UInt8]] {
        let key = NixSecretKey(name: "fuzz-1", key: try! SecretKey(seed: [UInt8](repeating: 7, count: 32)))
        return [SignedManifest.sign(manifest, with: [key]).encode(), manifest.encode()]
    }

    static var frames: [[UInt8]] {
        let id = ChunkID(of: [9])
        let messages: [Message] = [
            .hello(Hello(role: .agent, nodeID: [UInt8](repeating: 1, count: 16), listenPort: 1)),
            .getManifest(.toplevel(try! StorePath("bbp2hphvk98rkk9ywlqpp587rjdcgnc2-b")), peersWelcome: true),
            .getManifest(.id(SHA256.hash([1])), peersWelcome: false),
            .manifestPeers(
                SHA256.hash([2]),
                [
                    PeerEntry(
                        address: PeerAddress(ip: [10, 0, 0, 2], port: 7000)!, nodeID: [UInt8](repeating: 7, count: 16),
                        complete: false)
                ]),
            .request([id, id]), .chunk(id, [9][...]), .missing(id), .error(.busy, "busy"), .ping(1), .pong(2),
            .manifest(manifests[0]),
        ]
        return [messages.flatMap { FrameCodec.encode($0) }] + messages.map { FrameCodec.encode($0) }
    }
}
