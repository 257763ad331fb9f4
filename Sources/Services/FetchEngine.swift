// The client: fetch a closure from a seed into a target root. Shared by `rookery fetch` and the
// initrd agent. Drives ClientSession (handshake, manifest trust) and FetchPlan (what to ask for)
// over one TCP connection; every chunk is verified before it is written, every path restored
// atomically as soon as its chunks are all here, then the Nix registration is written.
import NixFormats
import Runtime
import Store
import Swarm

public final class FetchEngine {
    public struct Configuration: Sendable {
        public var seed: SocketAddress
        public var trustedKeys: [NixPublicKey]
        public var toplevel: StorePath
        public var root: StoreRoot
        /// Where the registration for `nix-store --load-db` goes.
        public var registrationPath: String
        public var maxInFlightBytes: UInt64 = 16 << 20
        public var handshakeTimeoutMilliseconds: UInt64 = 10_000
        public var idleTimeoutMilliseconds: UInt64 = 30_000
        /// Also check each restored path's SHA-256 (chunks are always checked against their
        /// signed BLAKE2b ids; raven checked every NAR hash against Nix's at publish).
        public var checksNarHash = false

        public init(seed: SocketAddress, trustedKeys: [NixPublicKey], toplevel: StorePath, root: StoreRoot) {
            self.seed = seed
            self.trustedKeys = trustedKeys
            self.toplevel = toplevel
            self.root = root
            registrationPath = (root.root == "/" ? "" : root.root) + "/nix/var/rookery/registration"
        }
    }

    public struct Report: Sendable {
        public var paths = 0
        public var pathsAlreadyPresent = 0
        public var chunksFetched = 0
        public var chunksReused = 0
        public var bytesFetched: UInt64 = 0
        public var narBytes: UInt64 = 0
    }

    public enum Outcome: Sendable {
        case finished(Report)
        case failed(String)
    }

    let loop: EventLoop
    let configuration: Configuration
    let cache: ChunkCache
    private var session: ClientSession
    private var decoder = FrameDecoder()
    private var plan: FetchPlan?
    private var connection: TCPConnection?
    private var timer: Timer?
    private var lastActivity: UInt64 = 0
    public private(set) var report = Report()
    public private(set) var outcome: Outcome?

    public init(loop: EventLoop, configuration: Configuration, nodeID: [UInt8]) {
        self.loop = loop
        self.configuration = configuration
        cache = ChunkCache(root: configuration.root)
        session = ClientSession(
            hello: Hello(role: .agent, nodeID: nodeID, listenPort: 0), selector: .toplevel(configuration.toplevel),
            trustedKeys: configuration.trustedKeys)
    }

    /// Connects and runs until `outcome` is set (the caller runs the loop).
    public func start() {
        do {
            let timer = try Timer(loop: loop)
            self.timer = timer
            lastActivity = loop.nowMilliseconds
            timer.start(after: 1000, repeat: 1000) { [weak self] in self?.tick() }
            let connection = try TCPConnection(loop: loop)
            self.connection = connection
            try connection.connect(to: configuration.seed) { [weak self] error in
                guard let self else { return }
                if let error { return self.fail("cannot reach the seed at \(self.configuration.seed): \(error)") }
                self.connected()
            }
        } catch {
            fail("cannot start: \(error)")
        }
    }

    private func connected() {
        guard let connection else { return }
        do {
            try connection.startReading(
                onData: { [weak self] bytes in self?.received(bytes) },
                onEnd: { [weak self] error in
                    guard let self, self.outcome == nil else { return }
                    self.fail("the seed closed the connection" + (error.map { ": \($0)" } ?? ""))
                })
        } catch {
            return fail("cannot read from the seed: \(error)")
        }
        perform(session.connected())
    }

    private func tick() {
        let now = loop.nowMilliseconds
        let limit =
            session.state == .transferring
            ? configuration.idleTimeoutMilliseconds : configuration.handshakeTimeoutMilliseconds
        if now - lastActivity > limit {
            fail("the seed at \(configuration.seed) did not answer for \(limit / 1000) s")
        }
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        lastActivity = loop.nowMilliseconds
        decoder.append(bytes)
        while outcome == nil {
            let message: Message?
            do { message = try decoder.next() } catch {
                perform(session.malformed(error))
                return
            }
            guard let message else { return }
            perform(session.received(message))
        }
    }

    private func perform(_ actions: [ClientSession.Action]) {
        for action in actions where outcome == nil {
            switch action {
            case .send(let message):
                connection?.write(FrameCodec.encode(message))
            case .verified(let manifest):
                begin(manifest)
            case .chunk(let id, let data):
                arrived(id, data)
            case .missing(let id):
                fail("the seed does not have chunk \(id)")
            case .fail(let line):
                fail(line)
            }
        }
    }

    /// The manifest is trusted: skip what the root already holds, plan the rest.
    private func begin(_ manifest: Manifest) {
        // Every path of the toplevel's closure is registered, present or not.
        guard let top = manifest.index(of: configuration.toplevel) else {
            return fail("the manifest does not contain \(configuration.toplevel)")
        }
        let closure = Self.closure(of: top, in: manifest)
        var wanted: [Int] = []
        for i in closure {
            report.narBytes += manifest.paths[i].narSize
            if configuration.root.exists(manifest.paths[i].storePath) {
                report.pathsAlreadyPresent += 1
            } else {
                wanted.append(i)
            }
        }
        report.paths = closure.count
        do {
            try cache.create()
            try configuration.root.createStoreDirectory()
            let present = try cache.verifiedPresent(among: Set(wanted.flatMap { manifest.paths[$0].chunks }))
            let plan = FetchPlan(manifest: manifest, wanted: wanted, present: present)
            report.chunksReused = wanted.reduce(0) { n, p in n + manifest.paths[p].chunks.filter(present.contains).count
            }
            // Paths whose chunks survived an earlier run are restored at once.
            for p in plan.completePaths {
                try configuration.root.restore(p, of: manifest, from: cache, checksNarHash: configuration.checksNarHash)
            }
            self.plan = plan
            try requestMoreOrFinish()
        } catch {
            fail("\(error)")
        }
    }

    private func arrived(_ id: ChunkID, _ data: ArraySlice<UInt8>) {
        guard var plan else { return fail("protocol violation: a chunk before the manifest") }
        switch plan.received(id, data: data) {
        case .unexpected:
            self.plan = plan
            return fail("protocol violation: the seed sent chunk \(id), which was not requested")
        case .corrupt:
            self.plan = plan
            return fail("the seed sent bytes that do not match chunk \(id); nothing was written")
        case .accepted(let completed):
            self.plan = plan
            report.chunksFetched += 1
            report.bytesFetched += UInt64(data.count)
            do {
                try cache.write(id, data)
                for p in completed {
                    try configuration.root.restore(
                        p, of: plan.manifest, from: cache, checksNarHash: configuration.checksNarHash)
                }
                try requestMoreOrFinish()
            } catch {
                fail("\(error)")
            }
        }
    }

    /// Keeps requests flowing within the in-flight budget; when nothing is left, finishes.
    private func requestMoreOrFinish() throws {
        guard var plan, let connection else { return }
        while true {
            let batch = plan.nextRequest(budget: configuration.maxInFlightBytes)
            if batch.isEmpty { break }
            connection.write(FrameCodec.encode(.request(batch)))
        }
        self.plan = plan
        if plan.isComplete {
            let manifest = plan.manifest
            try finish(manifest, closure: Self.closure(of: manifest.index(of: configuration.toplevel)!, in: manifest))
        }
    }

    private func finish(_ manifest: Manifest, closure: [Int]) throws {
        let registration = Registration.render(closure.map { manifest.pathInfo($0) })
        let path = configuration.registrationPath
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try FileIO.createDirectories(String(path[..<slash]))
        }
        try FileIO.writeAtomically(path, Array(registration.utf8))
        for p in closure { for id in manifest.paths[p].chunks { cache.remove(id) } }
        end(.finished(report))
    }

    private func fail(_ line: String) {
        end(.failed(line))
    }

    private func end(_ result: Outcome) {
        guard outcome == nil else { return }
        outcome = result
        timer?.close()
        timer = nil
        connection?.close()
        connection = nil
    }

    /// Indices of the closure of `top` (the manifest may hold several toplevels' closures).
    static func closure(of top: Int, in manifest: Manifest) -> [Int] {
        var seen: Set<Int> = [top]
        var stack = [top]
        while let i = stack.popLast() {
            for r in manifest.paths[i].references where seen.insert(r).inserted { stack.append(r) }
        }
        return seen.sorted()
    }
}
