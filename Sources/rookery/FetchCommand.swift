// `rookery fetch`: the agent's engine on a booted machine or in tests.
import ArgumentParser
import NixFormats
import Runtime
import Services
import Sodium
import Store

struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Fetch the closure of TOPLEVEL from a seed into a root, and write its Nix registration.")

    @Argument(help: "The toplevel store path to fetch.")
    var toplevel: String

    @Option(help: "The seed, IP:PORT.")
    var seed: String

    @Option(name: .customLong("trusted-key"), help: "A trusted public key, name:base64 (repeatable).")
    var trustedKeys: [String]

    @Option(help: "Target root; paths go to ROOT/nix/store.")
    var root: String

    func run() throws {
        guard let address = SocketAddress(parsing: seed) else {
            throw CommandFailure("--seed wants IP:PORT, got '\(seed)'")
        }
        let keys: [NixPublicKey]
        let path: StorePath
        do {
            keys = try trustedKeys.map { try NixPublicKey(parsing: $0) }
            path = try StorePath(toplevel)
        } catch {
            throw CommandFailure(error)
        }
        guard !keys.isEmpty else { throw CommandFailure("at least one --trusted-key is needed") }
        AllocatorTuning.forChunkTraffic()
        let outcome = try FetchRunner.run(
            FetchEngine.Configuration(seed: address, trustedKeys: keys, toplevel: path, root: StoreRoot(root: root)))
        switch outcome {
        case .finished(let r):
            print(
                "rookery fetch: \(r.paths) paths (\(r.pathsAlreadyPresent) already present), \(r.chunksFetched) chunks "
                    + "fetched (\(r.bytesFetched) bytes), \(r.chunksReused) reused")
        case .failed(let line):
            throw CommandFailure(line)
        }
    }
}
