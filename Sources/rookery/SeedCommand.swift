// `rookery seed`: raven's chunk server for the published manifests.
import ArgumentParser
import BootMenus
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
    var httpHeadTimeout = Seconds(10)

    @Option(help: .hidden)
    var faultCutFirstNarAfter: UInt64?

    @Option(help: "Seconds a client may stay silent, with nothing left to send it, before it is dropped.")
    var idleTimeout = Seconds(30)

    @Option(help: "Upload cap over all clients in Mbit/s (0: none).")
    var uploadMbit = RateMbit(0)

    /// KiB of chunks on their way at once while peers exist (super-seeding), for benchmarks.
    @Option(help: .hidden)
    var inFlightKib = SeedScheduler.defaultMaxBytesInFlight / 1024

    func validate() throws {
        guard (1...(1 << 20)).contains(inFlightKib) else { throw ValidationError("--in-flight-kib takes 1…1048576") }
    }

    /// The manifests in STATE/manifests; a file that cannot be read costs a line, not the seed.
    func loadState() throws -> [SignedManifest] {
        try SeedState(directory: state).load { error in
            FileHandle.standardError.write(Data("rookery seed: skipping a manifest file: \(error)\n".utf8))
        }
    }

    /// One line for each manifest whose paths are not all in the store: it is served, but its
    /// clients would stop at the first chunk the seed cannot read ("the seed does not have
    /// chunk …"), and the seed's log said nothing of why.
    func checkStore(_ manifests: [(id: Digest256, manifest: Manifest)]) {
        let root = StoreRoot(root: store)
        for (id, manifest) in manifests {
            let absent = root.absent(manifest.paths.map(\.storePath))
            guard let first = absent.first else { continue }
            let label = manifest.label.isEmpty ? "" : " (\(manifest.label))"
            let line =
                "rookery seed: manifest \(id.hex)\(label) has \(absent.count) of "
                + "\(manifest.paths.count) paths missing from \(root.storeDirectory) (first: \(first)): its clients "
                + "cannot finish (the wrong --store? store paths collected since the publish?)\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    func skipped(_ signed: SignedManifest, _ error: any Error) {
        FileHandle.standardError.write(Data("rookery seed: skipping manifest \(signed.id.hex): \(error)\n".utf8))
    }

    /// Boot files and menus for the systems among `manifests`; STATE/boot-macs ("MAC TOPLEVEL"
    /// lines) picks a system per machine, read anew each time.
    func bootFace(_ manifests: [Manifest], port: UInt16, key secret: NixSecretKey?) -> BootFace {
        let file = state + "/boot-macs"
        let macs = (try? String(contentsOfFile: file, encoding: .utf8)).map { text in
            BootMacs.parse(text) { FileHandle.standardError.write(Data("rookery seed: \(file) \($0); ignored\n".utf8)) }
        }
        return BootFace(
            manifests: manifests, store: StoreRoot(root: store), seedPort: port,
            keys: secret.map { ["\($0.publicKey)"] } ?? [], macs: macs ?? [])
    }

    /// Serves the manifests published since the start or the last reload, and rebuilds the boot
    /// menus from the manifests in the state now.
    func reload(_ service: SeedService, faces: FaceHandler?, port: UInt16, key secret: NixSecretKey?) {
        do {
            let stored = try loadState()
            var new: [(id: Digest256, manifest: Manifest)] = []
            for signed in stored {
                do {
                    guard let manifest = try service.add(signed) else { continue }
                    faces?.cache.add(manifest)
                    new.append((signed.id, manifest))
                } catch { skipped(signed, error) }
            }
            checkStore(new)
            let added = new.count
            let present = Set(stored.map(\.id))
            let menus = service.catalog.entries.filter { present.contains($0.signed.id) }.map(\.manifest)
            faces?.boot = bootFace(menus, port: port, key: secret)
            print("rookery seed: reloaded; \(added) new manifests, \(service.catalog.entries.count) served")
        } catch {
            FileHandle.standardError.write(Data("rookery seed: reload failed: \(error)\n".utf8))
        }
        fflush(nil)
    }

    /// How long STATE/manifests stays unchanged before a reload: a publish writes its manifest,
    /// then removes the ones it replaces; one reload sees both.
    static let settleMilliseconds: UInt64 = 300

    /// Watches STATE/manifests (made if the state folder is there), or says why nothing
    /// published is seen before a reload.
    func watchState(_ loop: EventLoop, _ changed: @escaping () -> Void) -> FolderWatcher? {
        let folder = SeedState(directory: state).manifestsDirectory
        let why: String
        if FileIO.isDirectory(state) {
            do {
                try FileIO.createDirectories(folder)
                return try FolderWatcher(loop: loop, path: folder, changed)
            } catch {
                why = "cannot watch \(folder): \(error)"
            }
        } else {
            why = "no state folder \(state)"
        }
        let line =
            "rookery seed: \(why); what is published there is served after a reload (systemctl reload rookery-seed, SIGHUP)\n"
        FileHandle.standardError.write(Data(line.utf8))
        return nil
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
            let stored = try loadState()
            for signed in stored {
                // One bad file must not keep raven from serving the others.
                do { try catalog.add(signed) } catch { skipped(signed, error) }
            }
            checkStore(catalog.entries.map { ($0.signed.id, $0.manifest) })
            let loop = try EventLoop()
            var configuration = SeedService.Configuration(listen: address)
            configuration.idleTimeoutMilliseconds = max(idleTimeout.milliseconds, 100)
            configuration.uploadBytesPerSecond = uploadMbit.bytesPerSecond
            configuration.maxBytesInFlight = inFlightKib * 1024
            let nodeID = randomBytes(16)
            let service = SeedService(
                loop: loop, configuration: configuration, catalog: catalog, store: StoreRoot(root: store),
                nodeID: nodeID, randomSeed: nodeID.prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
            service.notice = { FileHandle.standardError.write(Data("rookery seed: \($0)\n".utf8)) }
            try service.start()
            var server: HTTPServer?
            var faces: FaceHandler?
            if let httpAddress {
                let handler = FaceHandler.seed(
                    service,
                    cache: BinaryCacheFace(
                        index: BinaryCacheIndex(manifests: catalog.entries.map(\.manifest)),
                        store: StoreRoot(root: store),
                        key: secret))
                // The agent trusts the seed's key: the menus' command lines carry it.
                handler.boot = bootFace(
                    catalog.entries.map(\.manifest), port: service.boundAddress?.port ?? address.port, key: secret)
                var httpConfiguration = HTTPServer.Configuration(listen: httpAddress)
                httpConfiguration.faultCutFirstBodyAfter = faultCutFirstNarAfter
                httpConfiguration.headTimeoutMilliseconds = max(httpHeadTimeout.milliseconds, 100)
                server = try handler.serve(on: loop, httpConfiguration)
                faces = handler
            }
            var signals: SignalWatcher?
            var hangups: SignalWatcher?
            let settle = try Timer(loop: loop)
            let watcher = watchState(loop) { settle.start(after: Self.settleMilliseconds) { reloadNow() } }
            signals = try SignalWatcher(loop: loop) { _ in
                service.stop()
                server?.stop()
                signals?.close()
                hangups?.close()
                settle.close()
                watcher?.close()
            }
            // SIGHUP (`systemctl reload`), and any change in STATE/manifests (a `rookery publish`
            // by hand): serve what was published since, without dropping the swarms under way.
            // Manifests removed from the state leave the boot menus but stay served until the next
            // start: a machine may be booting one of them.
            func reloadNow() {
                reload(service, faces: faces, port: service.boundAddress?.port ?? address.port, key: secret)
            }
            hangups = try SignalWatcher(loop: loop, signals: [SIGHUP]) { _ in reloadNow() }
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
