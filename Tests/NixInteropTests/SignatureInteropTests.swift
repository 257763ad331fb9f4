// Keys and signatures against real Nix 2.8: Nix's keys load, our Sig equals Nix's byte for byte,
// and Nix accepts what our keys sign (and refuses what they did not).
import Foundation
import NixFormats
import Sodium
import Store
import TestSupport
import Testing

@Suite(.serialized) struct SignatureInteropTests {
    @Test func nixKeyLoadsAndOurSigEqualsNixSig() throws {
        let s = try NixScratch()
        let sk = s.tmp.sub("sk")
        let pk = s.tmp.sub("pk")
        try NixTool.nix(
            "nix-store", ["--store", s.store, "--generate-binary-cache-key", "raven-1", sk, pk], home: s.home)
        let secret = try NixSecretKey(parsing: try String(contentsOfFile: sk, encoding: .utf8))
        let publicText = try String(contentsOfFile: pk, encoding: .utf8)
        #expect(secret.publicKey.description == publicText)

        let closure = try NixClosure.build(store: s.store, home: s.home, scratch: s.tmp.sub("build"))
        let cache = s.tmp.sub("cache")
        try NixTool.nix(
            "nix",
            [
                "copy", "--store", s.store, "--to", "file://\(cache)?secret-key=\(sk)&compression=none",
                closure.toplevel,
            ],
            home: s.home)
        var compared = 0
        for path in closure.paths {
            let storePath = try StorePath(path)
            let text = try String(contentsOfFile: "\(cache)/\(storePath.hashPart).narinfo", encoding: .utf8)
            let info = try NarInfo.parse(text)
            #expect(info.render() == text, "narinfo of \(path) re-rendered differently")
            #expect(info.signatures.count == 1)
            #expect(try info.pathInfo.sign(with: secret) == info.signatures.first)
            #expect(
                try info.pathInfo.isSigned(
                    byAnyOf: [try NixPublicKey(parsing: publicText)], signatures: info.signatures))
            compared += 1
        }
        #expect(compared == closure.paths.count && compared >= 5)
    }

    @Test func nixAcceptsPathsSignedWithARookeryKey() throws {
        let s = try NixScratch()
        let sk = s.tmp.sub("rookery.sk")
        let pk = s.tmp.sub("rookery.pk")
        let keygen = try NixTool.run(
            try NixTool.rookeryExecutable, ["keygen", "rookery-test-1", "--secret", sk, "--public", pk])
        #expect(keygen.status == 0, "\(keygen.stderr)")
        var st = stat()
        #expect(stat(sk, &st) == 0 && st.st_mode & 0o777 == 0o600)
        let again = try NixTool.run(
            try NixTool.rookeryExecutable, ["keygen", "rookery-test-1", "--secret", sk, "--public", pk])
        #expect(again.status != 0 && again.stderr.contains("already exists"), "keygen must not overwrite a key")
        // Both files or neither: a new secret whose public file is taken goes again (before, a
        // new public key stayed beside an old secret: a key nothing could sign for).
        let sk2 = s.tmp.sub("other.sk")
        let taken = try NixTool.run(
            try NixTool.rookeryExecutable, ["keygen", "rookery-test-2", "--secret", sk2, "--public", pk])
        #expect(taken.status != 0 && taken.stderr.contains("already exists"))
        #expect(!FileManager.default.fileExists(atPath: sk2), "a secret without its public key was left")

        let secret = try NixSecretKey(parsing: try String(contentsOfFile: sk, encoding: .utf8))
        let publicKey = try String(contentsOfFile: pk, encoding: .utf8)

        let closure = try NixClosure.build(store: s.store, home: s.home, scratch: s.tmp.sub("build"))
        let cache = s.tmp.sub("cache")
        try NixTool.nix(
            "nix", ["copy", "--store", s.store, "--to", "file://\(cache)?compression=none", closure.toplevel],
            home: s.home)

        // Unsigned: Nix with require-sigs refuses the copy.
        let refused = try NixTool.nixAllowingFailure(
            "nix",
            [
                "copy", "--from", "file://\(cache)", "--to", s.tmp.sub("root-unsigned"), "--option",
                "trusted-public-keys", publicKey, closure.toplevel,
            ],
            home: s.home)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("signature"), "\(refused.stderr)")

        // Signed by us: the same copy succeeds and verifies.
        for path in closure.paths {
            let file = "\(cache)/\(try StorePath(path).hashPart).narinfo"
            var info = try NarInfo.parse(try String(contentsOfFile: file, encoding: .utf8))
            info.signatures = [try info.pathInfo.sign(with: secret)]
            try info.render().write(toFile: file, atomically: true, encoding: .utf8)
        }
        let root = s.tmp.sub("root-signed")
        try NixTool.nix(
            "nix",
            [
                "copy", "--from", "file://\(cache)", "--to", root, "--option", "trusted-public-keys", publicKey,
                closure.toplevel,
            ],
            home: s.tmp.sub("home2"))
        try NixTool.nix("nix-store", ["--store", root, "--verify", "--check-contents"], home: s.home)
        let sigs = try NixPathInfo.query([closure.toplevel], store: root, home: s.home)
        #expect(sigs.first?.signatures.first?.hasPrefix("rookery-test-1:") == true)
    }
}
