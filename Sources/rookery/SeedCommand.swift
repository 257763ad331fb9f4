// `rookery seed`: raven's chunk server for the published manifests.
import ArgumentParser
import Faces
import Foundation
import Glibc
import NixFormats
import Runtime
import Services
import Sodium
import Store
import Swarm

struct SeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed", abstract: "Serve the published manifests and their chunks straight from the store.")

    @Option(help: "The seed's state folder (where `rookery publish` wrote manifests).")
    var state: String

    @Option(help: "Root of the store the paths are read from (`/` on raven; a folder for a chroot store).")
    var store: String = "/"

    @Option(help: "Address to listen on, IP:PORT.")
    var listen: String = "0.0.0.0:7020"

    @Option(help: "HTTP address for the binary cache, /status and /metrics, IP:PORT (\"off\": none).")
    var http: String = "0.0.0.0:7080"

    @Option(help: "Nix binary-cache secret key file: signs the narinfos of the HTTP cache.")
    var key: String?

    @Option(help: .hidden)
    var httpHeadTimeout: Double = 10

    @Option(help: .hidden)
    var faultCutFirstNarAfter: UInt64?

    @Option(help: "Seconds a client may stay silent, with nothing left to send it, before it is dropped.")
    var idleTimeout: Double = 30

    @Option(help: "Upload cap over all clients in Mbit/s (0: none).")
    var uploadMbit: Double = 0

    /// KiB of chunks on their way at once while peers exist (super-seeding), for benchmarks.
    @Option(help: .hidden)
    var inFlightKib = SeedScheduler.defaultMaxBytesInFlight / 1024

    /// `STATE/boot-macs`: one "MAC TOPLEVEL" per line, `#` comments.
    static func parseMacs(_ text: String) -> [(mac: String, toplevel: String)] {
        text.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count == 2, !line.hasPrefix("#") else { return nil }
            return (String(words[0]), String(words[1]))
        }
    }

    func run() throws {
        guard let address = SocketAddress(parsing: listen) else {
            throw CommandFailure("--listen wants IP:PORT, got '\(listen)'")
        }
        let httpAddress = http == "off" ? nil : SocketAddress(parsing: http)
        if http != "off" && httpAddress == nil { throw CommandFailure("--http wants IP:PORT or off, got '\(http)'") }
        AllocatorTuning.forChunkTraffic()
        OpenFileLimit.raise()
        do {
            let secret = try key.map {
                try NixSecretKey(parsing: String(decoding: try FileIO.read($0, limit: 4096), as: UTF8.self))
            }
            var catalog = ManifestCatalog()
            let stored = try SeedState(directory: state).load { error in
                FileHandle.standardError.write(Data("rookery seed: skipping a manifest file: \(error)\n".utf8))
            }
            for signed in stored {
                // One bad file must not keep raven from serving the others.
                do { try catalog.add(signed) } catch {
                    FileHandle.standardError.write(
                        Data("rookery seed: skipping manifest \(signed.id.hex): \(error)\n".utf8))
                }
            }
            let loop = try EventLoop()
            var configuration = SeedService.Configuration(listen: address)
            configuration.idleTimeoutMilliseconds = UInt64(max(idleTimeout, 0.1) * 1000)
            configuration.uploadBytesPerSecond = UInt64(max(uploadMbit, 0) * 125_000)
            configuration.maxBytesInFlight = max(inFlightKib, 1) * 1024
            let nodeID = randomBytes(16)
            let service = SeedService(
                loop: loop, configuration: configuration, catalog: catalog, store: StoreRoot(root: store),
                nodeID: nodeID, randomSeed: nodeID.prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
            try service.start()
            var server: HTTPServer?
            if let httpAddress {
                let faces = FaceHandler.seed(
                    service,
                    cache: BinaryCacheFace(
                        index: BinaryCacheIndex(manifests: catalog.entries.map(\.manifest)),
                        store: StoreRoot(root: store),
                        key: secret))
                // Boot files and menus for the systems among the manifests; the agent trusts the
                // seed's key. STATE/boot-macs: "MAC TOPLEVEL" lines pick a system per machine.
                let macs =
                    (try? String(contentsOfFile: state + "/boot-macs", encoding: .utf8))
                    .map(Self.parseMacs) ?? []
                faces.boot = BootFace(
                    manifests: catalog.entries.map(\.manifest), store: StoreRoot(root: store),
                    seedPort: service.boundAddress?.port ?? address.port,
                    keys: secret.map { ["\($0.publicKey)"] } ?? [], macs: macs)
                var httpConfiguration = HTTPServer.Configuration(listen: httpAddress)
                httpConfiguration.faultCutFirstBodyAfter = faultCutFirstNarAfter
                httpConfiguration.headTimeoutMilliseconds = UInt64(max(httpHeadTimeout, 0.1) * 1000)
                server = try faces.serve(on: loop, httpConfiguration)
            }
            var signals: SignalWatcher?
            signals = try SignalWatcher(loop: loop) { _ in
                service.stop()
                server?.stop()
                signals?.close()
            }
            if let bound = server?.boundAddress {
                print("rookery seed: HTTP (binary cache, /status, /metrics) on \(bound)")
            }
            print("rookery seed: \(catalog.entries.count) manifests, listening on \(service.boundAddress ?? address)")
            fflush(nil)  // flushes every stream; tests wait for this line
            loop.run()
            print("rookery seed: stopped; \(service.bytesServed) chunk bytes served")
        } catch {
            throw CommandFailure(error)
        }
    }
}
