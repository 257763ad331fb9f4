// protocol/vectors: every message and the signed manifest, byte for byte. Set
// ROOKERY_WRITE_VECTORS=1 to (re)write them from the fixtures after a deliberate format change.
import Foundation
import NixFormats
import Sodium
import Swarm
import TestSupport
import Testing

let vectorsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("protocol/vectors")
let writeVectors = ProcessInfo.processInfo.environment["ROOKERY_WRITE_VECTORS"] == "1"

func loadVectors(_ name: String) throws -> [String: [String: String]] {
    let data = try Data(contentsOf: vectorsDirectory.appendingPathComponent(name))
    return try #require(JSONSerialization.jsonObject(with: data) as? [String: [String: String]])
}

func storeVectors(_ name: String, _ vectors: [String: [String: String]]) throws {
    let data = try JSONSerialization.data(withJSONObject: vectors, options: [.prettyPrinted, .sortedKeys])
    try data.write(to: vectorsDirectory.appendingPathComponent(name))
}

@Suite(.serialized) struct VectorTests {
    @Test func framesMatchVectors() throws {
        let messages = try Fixtures.messages()
        if writeVectors {
            var out: [String: [String: String]] = [:]
            for (name, m) in messages {
                out[name] = ["type": "\(m.type)", "frame": Hex.encode(FrameCodec.encode(m))]
            }
            try storeVectors("frames.json", out)
        }
        let vectors = try loadVectors("frames.json")
        #expect(Set(vectors.keys) == Set(messages.map(\.0)))
        #expect(Set(vectors.values.compactMap { $0["type"] }) == Set(MessageType.allCases.map { "\($0)" }))
        for (name, message) in messages {
            let hex = try #require(vectors[name]?["frame"], "\(name)")
            #expect(Hex.encode(FrameCodec.encode(message)) == hex, "\(name) encodes to its vector")
            let frame = try #require(Hex.decode(hex))
            var decoder = FrameDecoder()
            decoder.append(frame)
            #expect(try decoder.next() == message, "\(name) decodes from its vector")
            #expect(try decoder.next() == nil)
        }
    }

    @Test func signedManifestMatchesVector() throws {
        let key = try Fixtures.key()
        let signed = SignedManifest.sign(try Fixtures.manifest(), with: [key])
        if writeVectors {
            try storeVectors(
                "manifest.json",
                [
                    "signed-manifest": [
                        "secret-key-file": key.renderSecret(),
                        "public-key-file": key.publicKey.description,
                        "body-signed": Hex.encode(signed.body),
                        "signature": Hex.encode(signed.signatures[0].bytes),
                        "manifest-id": signed.id.hex,
                        "file": Hex.encode(signed.encode()),
                    ]
                ])
        }
        let v = try #require(try loadVectors("manifest.json")["signed-manifest"])
        func field(_ name: String) throws -> String { try #require(v[name], "vector field \(name)") }
        func bytes(_ name: String) throws -> [UInt8] { try #require(Hex.decode(try field(name)), "hex of \(name)") }
        let body = try bytes("body-signed")
        let signature = try bytes("signature")
        let publicKey = try NixPublicKey(parsing: try field("public-key-file"))
        // The vector stands on its own: libsodium verifies its signature over its body.
        #expect(publicKey.key.verify(signature: signature, of: body))
        #expect(Blake2b256.hash(body).hex == v["manifest-id"])
        #expect(try NixSecretKey(parsing: try field("secret-key-file")).publicKey == publicKey)
        // And our code produces exactly it.
        #expect(signed.body == body)
        #expect(signed.signatures[0].bytes == signature)
        #expect(Hex.encode(signed.encode()) == v["file"])
        let decoded = try SignedManifest.decode(try bytes("file")[...])
        let manifest = try decoded.verified(trustedKeys: [publicKey])
        #expect(manifest == (try Fixtures.manifest()))
        // The carried narinfo signature is one Nix accepts for that path.
        let sig = try #require(manifest.paths[1].signatures.first)
        #expect(try manifest.pathInfo(1).isSigned(byAnyOf: [publicKey], signatures: [sig]))
    }
}
