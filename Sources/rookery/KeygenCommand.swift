// `rookery keygen NAME --secret F --public F`: the job of `nix-store --generate-binary-cache-key`.
import ArgumentParser
import Glibc
import NixFormats
import Store

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a Nix binary-cache signing key pair (Ed25519, name:base64 files).")

    @Argument(help: "The key's name, e.g. raven-1.")
    var name: String

    @Option(help: "Where to write the secret key (mode 0600; never overwritten).")
    var secret: String

    @Option(help: "Where to write the public key (never overwritten).")
    var `public`: String

    func run() throws {
        do {
            let key = try NixSecretKey.generate(name: name)
            // Both or neither: a public key left without its secret (the secret file was there
            // already) is one clients could be told to trust while nothing can sign for it.
            try FileIO.writeNew(secret, Array(key.renderSecret().utf8), mode: 0o600)
            do {
                try FileIO.writeNew(self.public, Array(key.publicKey.description.utf8), mode: 0o644)
            } catch {
                _ = unlink(secret)
                throw error
            }
        } catch {
            throw CommandFailure(error)
        }
    }
}
