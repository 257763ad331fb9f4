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

    @Option(help: "The seed, HOST:PORT (an IP address or a name).")
    var seed: String

    @Option(name: .customLong("trusted-key"), help: "A trusted public key, name:base64 (repeatable).")
    var trustedKeys: [String]

    @Option(help: "Target root; paths go to ROOT/nix/store.")
    var root: String

    @Option(help: "Serve peers on IP:PORT while fetching (port 0: any free port).")
    var listen: String?

    @Option(help: "After finishing, serve peers until none asked for this many seconds.")
    var linger = Seconds(0)

    @Option(help: "Upload cap to peers in Mbit/s (0: none).")
    var uploadMbit = RateMbit(0)

    @Flag(help: .hidden)
    var faultCorruptUploads = false

    /// Each disk job waits this many microseconds first (tests: a disk slower than the network).
    @Option(help: .hidden)
    var faultSlowDiskUs: UInt32 = 0

    func run() throws {
        let address = try RemoteAddress.resolve(seed, option: "seed")
        let keys: [NixPublicKey]
        let path: StorePath
        do {
            keys = try trustedKeys.map { try NixPublicKey(parsing: $0) }
            path = try ToplevelArgument.storePath(toplevel)
        } catch {
            throw CommandFailure(error)
        }
        guard !keys.isEmpty else { throw CommandFailure("at least one --trusted-key is needed") }
        var configuration = FetchEngine.Configuration(
            seed: address, trustedKeys: keys, toplevel: path, root: StoreRoot(root: root))
        if let listen {
            guard let a = SocketAddress(parsing: listen) else {
                throw CommandFailure("--listen wants IP:PORT, got '\(listen)'")
            }
            configuration.listen = a
        }
        configuration.lingerIdleMilliseconds = linger.milliseconds
        configuration.uploadBytesPerSecond = uploadMbit.bytesPerSecond
        configuration.corruptsUploads = faultCorruptUploads
        configuration.diskJobDelayMicroseconds = faultSlowDiskUs
        AllocatorTuning.forChunkTraffic()
        switch try FetchRunner.run(configuration) {
        case .finished(let r):
            print("rookery fetch: \(r.summary)")
        case .failed(let line):
            throw CommandFailure(line)
        }
    }
}
