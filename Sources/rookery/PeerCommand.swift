// `rookery peer`: a booted client serves the closures it booted with, straight from its store.
import ArgumentParser
import Faces
import Glibc
import NixFormats
import Runtime
import Services
import Store

struct PeerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer",
        abstract: "Serve the store paths of published closures that this machine holds, to the swarm.",
        discussion: """
            Joins the swarm of each TOPLEVEL's manifest as a holder of the paths on disk (default: \
            the systems in /run/booted-system and /run/current-system). Fetches and writes nothing; \
            every chunk read from the store is checked against its signed id before it is sent. \
            The manifest of the i-th toplevel is served on the --listen port + i.
            """)

    @Argument(help: "Toplevel store paths whose manifests to serve (default: the booted and current systems).")
    var toplevels: [String] = []

    @Option(help: "The seed, HOST:PORT (an IP address or a name).")
    var seed: String

    @Option(name: .customLong("trusted-key"), help: "A trusted public key, name:base64 (repeatable).")
    var trustedKeys: [String]

    @Option(help: "Root whose ROOT/nix/store is served.")
    var root: String = "/"

    @Option(help: "Address peers connect to, IP:PORT (port 0: any free port).")
    var listen: String = "0.0.0.0:7021"

    @Option(help: "HTTP address for the binary cache, /status and /metrics, IP:PORT (\"off\": none).")
    var http: String = "0.0.0.0:7080"

    @Option(help: "Upload cap in Mbit/s for each served manifest (0: none).")
    var uploadMbit = RateMbit(0)

    func run() throws {
        let address = try RemoteAddress.resolve(seed, option: "seed")
        guard let base = SocketAddress(parsing: listen) else {
            throw CommandFailure("--listen wants IP:PORT, got '\(listen)'")
        }
        let httpAddress = http == "off" ? nil : SocketAddress(parsing: http)
        if http != "off" && httpAddress == nil { throw CommandFailure("--http wants IP:PORT or off, got '\(http)'") }
        let keys: [NixPublicKey]
        var paths: [StorePath] = []
        do {
            keys = try trustedKeys.map { try NixPublicKey(parsing: $0) }
            for t in toplevels.isEmpty ? Self.systems(root: root) : toplevels {
                let p = try ToplevelArgument.storePath(t)
                if !paths.contains(p) { paths.append(p) }
            }
        } catch {
            throw CommandFailure(error)
        }
        guard !keys.isEmpty else { throw CommandFailure("at least one --trusted-key is needed") }
        guard !paths.isEmpty else {
            throw CommandFailure("no toplevel given and no /run/booted-system or /run/current-system to serve")
        }
        let configurations = paths.enumerated().map { i, path in
            var c = FetchEngine.Configuration(
                seed: address, trustedKeys: keys, toplevel: path, root: StoreRoot(root: root))
            c.listen = SocketAddress(host: base.host, port: base.port == 0 ? 0 : base.port &+ UInt16(i))
            c.uploadBytesPerSecond = uploadMbit.bytesPerSecond
            return c
        }
        AllocatorTuning.forChunkTraffic()
        OpenFileLimit.raise()
        let store = StoreRoot(root: root)
        let outcome = try PeerRunner.run(
            configurations,
            attach: { (loop, engines) throws(RuntimeError) in
                guard let httpAddress else { return {} }
                let server = try FaceHandler.peer(engines, loop: loop, store: store).serve(
                    on: loop, HTTPServer.Configuration(listen: httpAddress))
                print("rookery peer: HTTP (binary cache, /status, /metrics) on \(server.boundAddress ?? httpAddress)")
                return { server.stop() }
            }
        ) { toplevel, at, report in
            print("rookery peer: serving \(report.paths) paths of \(toplevel) on \(at.map { "\($0)" } ?? "?")")
            fflush(nil)  // flushes every stream; tests wait for this line
        }
        for (toplevel, result) in outcome.results {
            switch result {
            case .finished(let r): print("rookery peer: \(toplevel): served_bytes=\(r.swarm.bytesServed)")
            case .failed(let line): print("rookery peer: \(toplevel): \(line)")
            }
        }
        fflush(nil)  // the lines above before the error line
        guard outcome.servedAny else { throw CommandFailure("nothing was served") }
    }

    /// The booted and the current system, when `root` is `/` and they are links into the store.
    static func systems(root: String) -> [String] {
        guard root == "/" else { return [] }
        return ["/run/booted-system", "/run/current-system"].compactMap { link in
            guard let resolved = realpath(link, nil) else { return nil }
            defer { free(resolved) }
            return String(cString: resolved)
        }
    }
}
