// `rookery demo`: the README's main command. On built-in defaults, all on loopback: a synthetic
// closure is published and signed, a seed (with its HTTP face) runs in this process, N clients
// (`rookery fetch` child processes, the agent's engine) fetch it from the seed and from each
// other, the live status view shows the swarm, and a summary closes: time, seed bytes ÷ closure
// bytes, bytes from peers, and Nix's own verdict on every client's store when nix-bin is
// installed. Everything it started is stopped and its folder removed.
import ArgumentParser
import Faces
import Foundation
import Glibc
import NixFormats
import Publishing
import Runtime
import Services
import Sodium
import Store
import Swarm

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run a seed and N clients on loopback and watch them share a closure.")

    @Option(help: "Number of clients.")
    var clients: Int = 8

    @Option(help: "Small store paths in the closure.")
    var smallPaths: Int = 200

    @Option(help: "MiB in the closure's large paths (four of them).")
    var largeMib: Int = 64

    @Option(help: "Upload cap of the seed in Mbit/s (0: none), to show the peers at work.")
    var seedMbit = RateMbit(100)

    @Option(help: "Seconds after which the demo gives up.")
    var timeout = Seconds(120)

    @Flag(help: "Keep the demo's folder (printed) instead of removing it.")
    var keep = false

    func validate() throws {
        guard (1...64).contains(clients) else { throw ValidationError("--clients must be 1…64") }
        guard (0...5000).contains(smallPaths), (1...4096).contains(largeMib) else {
            throw ValidationError("--small-paths 0…5000, --large-mib 1…4096")
        }
    }

    func run() throws {
        var template = Array("/tmp/rookery-demo-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CommandFailure("cannot create a temporary folder")
        }
        let dir = String(cString: made)
        defer {
            if keep { print("demo folder kept: \(dir)") } else { try? FileIO.removeTree(dir) }
        }
        do {
            try DemoRun(options: self, dir: dir).run()
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(error)
        }
    }
}

/// One run of the demo in `dir`.
private final class DemoRun {
    let options: DemoCommand
    let dir: String
    var agents: [(process: Process, root: String, log: String)] = []

    init(options: DemoCommand, dir: String) {
        self.options = options
        self.dir = dir
    }

    func run() throws {
        let seedStore = StoreRoot(root: dir + "/raven")
        print(
            "rookery demo: writing a closure (\(options.smallPaths) small paths, \(options.largeMib) MiB in 4 large ones)…"
        )
        let closure = try DemoClosure.write(
            into: seedStore, small: options.smallPaths, large: 4, largeMiB: options.largeMib)
        let key = try NixSecretKey.generate(name: "rookery-demo-1")
        let manifest = try Publisher.manifest(
            of: closure.paths, toplevels: [closure.toplevel], store: seedStore,
            layout: try ChunkLayout(chunkSize: ChunkLayout.defaultChunkSize),
            createdAt: UInt64(time(nil)), label: "demo", signingKeys: [key])
        let signed = SignedManifest.sign(manifest, with: [key])
        var catalog = ManifestCatalog()
        try catalog.add(signed)
        print(
            "rookery demo: published \(signed.id.hex.prefix(12)): \(manifest.paths.count) paths, "
                + "\(StatusView.bytesText(manifest.narBytes)), signed by \(key.publicKey.name)")

        let loop = try EventLoop()
        var seedConfiguration = SeedService.Configuration(listen: SocketAddress(parsing: "127.0.0.1:0")!)
        seedConfiguration.uploadBytesPerSecond = options.seedMbit.bytesPerSecond
        let nodeID = randomBytes(16)
        let seed = SeedService(
            loop: loop, configuration: seedConfiguration, catalog: catalog, store: seedStore, nodeID: nodeID,
            randomSeed: 1)
        try seed.start()
        let faces = FaceHandler.seed(
            seed, cache: BinaryCacheFace(index: BinaryCacheIndex(manifests: [manifest]), store: seedStore, key: key))
        let http = try faces.serve(on: loop, .init(listen: SocketAddress(parsing: "127.0.0.1:0")!))
        let seedAddress = seed.boundAddress!
        print(
            "rookery demo: seed on \(seedAddress); its binary cache, /status and /metrics on http://\(http.boundAddress!) "
                + "(try `rookery status --seed \(http.boundAddress!)` in another terminal)")

        let started = Date()
        for i in 0..<options.clients {
            agents.append(try startAgent(i, seed: seedAddress, key: key.publicKey, toplevel: closure.toplevel))
        }

        let terminal = isatty(STDOUT_FILENO) == 1
        var view = StatusView(linkMbit: nil)
        var lastPlain = -1.0
        var finished: Date?
        /// When the seed first saw every client complete (they linger a second after, serving).
        var allComplete: Date?
        let ticker = try Timer(loop: loop)
        var interrupted = false
        let signals = try SignalWatcher(loop: loop) { _ in interrupted = true }
        ticker.start(after: 250, repeat: 250) { [self] in
            let elapsed = Date().timeIntervalSince(started)
            let status = faces.status()
            let lines = view.render(status)
            let members = status.swarms.first?.members ?? []
            if allComplete == nil && members.count == options.clients && members.allSatisfy(\.complete) {
                allComplete = Date()
            }
            if terminal {
                print("\u{1B}[H\u{1B}[2J" + lines.joined(separator: "\n"))
            } else if elapsed - lastPlain >= 2 {
                lastPlain = elapsed
                let s = status.swarms[0]
                print(
                    "rookery demo: t=\(StatusView.secondsText(elapsed)) \(s.members.filter(\.complete).count)/\(s.members.count) "
                        + "in the swarm complete, \(agents.filter { !$0.process.isRunning }.count)/\(agents.count) clients exited"
                )
            }
            fflush(nil)
            if interrupted || elapsed > options.timeout.seconds || agents.allSatisfy({ !$0.process.isRunning }) {
                if agents.contains(where: { $0.process.isRunning }) { for a in agents { a.process.terminate() } }
                finished = Date()
                ticker.close()
                signals.close()
                seed.stop()
                http.stop()
            }
        }
        loop.run()
        for a in agents { a.process.waitUntilExit() }
        if interrupted { throw CommandFailure("stopped by a signal") }
        try summarize(
            seconds: (allComplete ?? finished ?? Date()).timeIntervalSince(started), seedBytes: seed.bytesServed,
            closureBytes: ChunkTable(manifest: manifest).bytes)  // a repeated chunk moves once
    }

    private func startAgent(_ i: Int, seed: SocketAddress, key: NixPublicKey, toplevel: StorePath) throws -> (
        process: Process, root: String, log: String
    ) {
        let root = "\(dir)/client\(i)"
        let log = "\(dir)/client\(i).log"
        guard FileManager.default.createFile(atPath: log, contents: nil) else {
            throw CommandFailure("cannot create \(log)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try selfExecutable())
        process.arguments = [
            "fetch", "--seed", "\(seed)", "--trusted-key", "\(key)", "--root", root, "--listen", "127.0.0.1:0",
            "--linger", "1", toplevel.fullPath,
        ]
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return (process, root, log)
    }

    private func summarize(seconds: Double, seedBytes: UInt64, closureBytes: UInt64) throws {
        var peerBytes: UInt64 = 0
        var fetched: UInt64 = 0
        var failed: [String] = []
        for (i, a) in agents.enumerated() {
            let text = (try? String(contentsOfFile: a.log, encoding: .utf8)) ?? ""
            guard a.process.terminationStatus == 0 else {
                failed.append(
                    "client \(i): "
                        + (text.split(separator: "\n").last.map(String.init) ?? "exit \(a.process.terminationStatus)"))
                continue
            }
            peerBytes += field("peer_bytes", in: text)
            fetched += field("bytes", in: text)
        }
        let n = UInt64(agents.count)
        print("")
        print(
            "rookery demo: \(agents.count - failed.count)/\(agents.count) clients fetched the closure in \(StatusView.secondsText(seconds))"
        )
        print(
            "  seed sent \(StatusView.bytesText(seedBytes)) = \(StatusView.fixedText(Double(seedBytes) / Double(closureBytes), 2)) × closure "
                + "(\(StatusView.bytesText(closureBytes))); without peers it would send \(n) × closure")
        if fetched > 0 {
            print(
                "  bytes from peers: \(StatusView.bytesText(peerBytes)) of \(StatusView.bytesText(fetched)) fetched "
                    + "(\(StatusView.fixedText(Double(peerBytes) * 100 / Double(fetched), 0))%)")
        }
        for line in failed { print("  \(line)") }
        if failed.isEmpty { try checkWithNix() }
        if !failed.isEmpty { throw CommandFailure("\(failed.count) clients failed") }
    }

    /// `nix-store --load-db` and `--verify --check-contents` on every client's root, when Nix is
    /// installed (chroot stores and a private HOME: the machine's own /nix is never touched).
    private func checkWithNix() throws {
        guard
            let nixStore = ["/usr/bin/nix-store", "/bin/nix-store"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            print("  (nix-bin is not installed: the clients' stores were not checked by Nix)")
            return
        }
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = dir + "/home"
        environment["NIX_CONFIG"] = "build-users-group =\nsandbox = false\nsubstituters =\n"
        for (i, a) in agents.enumerated() {
            let registration = a.root + "/nix/var/rookery/registration"
            for arguments in [["--store", a.root, "--load-db"], ["--store", a.root, "--verify", "--check-contents"]] {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: nixStore)
                p.arguments = arguments
                p.environment = environment
                if arguments.contains("--load-db") { p.standardInput = FileHandle(forReadingAtPath: registration) }
                let err = Pipe()
                p.standardError = err
                p.standardOutput = FileHandle.nullDevice
                try p.run()
                let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                p.waitUntilExit()
                guard p.terminationStatus == 0 else {
                    throw CommandFailure(
                        "nix-store \(arguments.dropFirst(2).joined(separator: " ")) failed on client \(i): \(errors)")
                }
            }
        }
        print(
            "  Nix 2.8 loaded every client's registration and verified every path's contents (nix-store --verify --check-contents)"
        )
    }

    private func field(_ name: String, in text: String) -> UInt64 {
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) where word.hasPrefix(name + "=") {
            return UInt64(word.dropFirst(name.count + 1)) ?? 0
        }
        return 0
    }

    private func selfExecutable() throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { throw CommandFailure("cannot find this program (/proc/self/exe)") }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
