// `rookery demo`: the README's main command. The seed/agent swarm it will run is not built yet
// (see the issues); until then it says so plainly and runs what exists, end to end: a small
// tree dumped to a NAR, hashed, signed, restored atomically with canonical metadata, and
// dumped again to check the round trip.
import ArgumentParser
import Glibc
import NixFormats
import Store

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the demo (the swarm is not built yet; this shows the NAR and signing layers).")

    func run() throws {
        print("rookery demo: the seed/agent swarm is not built yet; showing the NAR and signing layers.")
        var template = Array("/tmp/rookery-demo-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CommandFailure("cannot create a temporary folder")
        }
        let dir = String(cString: made)
        defer { try? FileIO.removeTree(dir) }
        do {
            try runDemo(in: dir)
        } catch {
            throw CommandFailure(error)
        }
    }

    private func runDemo(in dir: String) throws {
        let source = dir + "/source"
        guard mkdir(source, 0o755) == 0, mkdir(source + "/bin", 0o755) == 0 else {
            throw StoreError.lastSystem("mkdir", source)
        }
        try FileIO.writeNew(source + "/bin/hello", Array("#!/bin/sh\necho hello\n".utf8), mode: 0o755)
        try FileIO.writeNew(source + "/README", Array("a demo store path\n".utf8), mode: 0o644)
        guard symlink("bin/hello", source + "/run") == 0 else { throw StoreError.lastSystem("symlink", source) }

        var hashing = NarHashingSink()
        try NarDumper().dump(path: source, to: &hashing)
        let narHash = NixHash(sha256: hashing.hasher.finalize())
        print("NAR of the demo tree: \(hashing.count) bytes, NarHash \(narHash)")

        let path = try StorePath("/nix/store/" + String(narHash.nix32.prefix(32)) + "-rookery-demo")
        let key = try NixSecretKey.generate(name: "rookery-demo-1")
        let info = PathInfo(storePath: path, narHash: narHash, narSize: hashing.count, references: [])
        let signature = try info.sign(with: key)
        print("fingerprint: \(try info.fingerprint())")
        print("Sig: \(signature)")
        print(
            "signature valid under \(key.publicKey.name): \(try info.isSigned(byAnyOf: [key.publicKey], signatures: [signature]))"
        )

        let store = StoreRoot(root: dir + "/root")
        let importer = try store.importPath(path)
        var nar = MemorySink()
        try NarDumper().dump(path: source, to: &nar)
        try importer.feed(nar.bytes[...])
        try importer.commit(expected: (narHash, hashing.count))
        var again = NarHashingSink()
        try store.dump(path, to: &again)
        let roundTrip = NixHash(sha256: again.hasher.finalize()) == narHash
        print("restored to \(store.realPath(path)); NAR round trip identical: \(roundTrip)")
        if !roundTrip { throw CommandFailure("the restored tree's NAR differs") }
    }
}
