// Runs the real swarm logic — SeedCore for raven, one SwarmClient per lab machine — over the
// modelled LAN of LinkModel, in virtual time. Deterministic for a given random seed. What it
// reports is what the emulated-LAN benchmark reports: slowest completion ÷ the fluid bound
// T_min (Kumar & Ross 2006) and the bytes the seed sent ÷ the closure's bytes.
import NixFormats
import Sodium
import Swarm

public struct SimulationParameters: Sendable {
    public var clients = 16
    public var clientUpMbit = 50.0
    public var clientDownMbit = 50.0
    public var seedMbit = 50.0
    public var closureMiB = 128.0
    public var paths = 300
    public var chunkSize: UInt32 = ChunkLayout.defaultChunkSize
    public var latencyMilliseconds = 0.25
    /// Clients are switched on at random moments within this many seconds.
    public var startSpreadSeconds = 0.0
    public var randomSeed: UInt64 = 1
    /// The run stops at this multiple of T_min even if clients are still fetching.
    public var timeLimitFactor = 20.0
    public var swarm = SwarmClient.Configuration()
    /// The seed's cap on chunk bytes on their way while peers exist.
    public var seedBytesInFlight = SeedScheduler.defaultMaxBytesInFlight

    public init() {}
}

public struct SimulationResult: Sendable, Equatable {
    public var closureBytes: UInt64
    public var tMin: Double
    /// Seconds from its start to its last chunk, per client (nil: did not finish).
    public var completions: [Double?]
    public var seedBytes: UInt64
    public var peerBytes: UInt64
    public var failures: [String]
    public var events: Int
    /// Summed over the clients.
    public var stalls = 0
    public var duplicateChunks = 0
    /// When the seed's uplink sent its last byte, and how long it stood idle before that: what
    /// the seed could have sent sooner, and what the swarm took after it.
    public var seedDone = 0.0
    public var seedIdle = 0.0
    /// Manifest bytes the seed sent (they take its uplink too, but are not closure bytes), how
    /// many manifests, and how many askers it sent to members for theirs.
    public var seedManifestBytes: UInt64 = 0
    public var seedManifests = 0
    public var manifestReferrals = 0

    public var slowest: Double { completions.compactMap { $0 }.max() ?? .infinity }
    public var slowestOverTMin: Double { slowest / tMin }
    public var seedOverClosure: Double { Double(seedBytes) / Double(closureBytes) }
    public var unfinished: Int { completions.filter { $0 == nil }.count }
}

public struct Simulator {
    enum Event {
        case start(Int)
        case tick(Int)
        case deliver(Int, Int, Message)
        case chunk(Int, Int, Int)
        case dial(Int, Int, Int)
        case connected(Int, Int)
        case closed(Int, Int)
        case uplinkFree(Int)
    }

    struct Endpoint: Hashable {
        let host: Int
        let connection: Int
    }

    let parameters: SimulationParameters
    private var queue = EventQueue<Event>()
    private var links: LinkModel
    private var seed: SeedCore
    private var clients: [SwarmClient?]
    private var table: ChunkTable
    public var chunkCount: Int { table.count }
    private var peerOf: [Endpoint: Endpoint] = [:]
    /// Connections closed by their dialler before the dial arrived.
    private var abandoned: Set<Endpoint> = []
    private var lastArrival: [Endpoint: Double] = [:]
    private var hostOf: [PeerAddress: Int] = [:]
    private var addressOf: [PeerAddress] = []
    private var startedAt: [Double]
    private var completions: [Double?]
    private var failures: [String] = []
    private var seedConnections = 0
    private var seedBytes: UInt64 = 0
    private var seedManifestBytes: UInt64 = 0
    private var seedBusyUntil = 0.0
    private var seedIdle = 0.0
    private var peerBytes: UInt64 = 0
    private var now = 0.0
    private var wantedPaths: [Int]

    public init(_ parameters: SimulationParameters) throws {
        self.parameters = parameters
        var rng = SplitMix64(seed: parameters.randomSeed)
        let manifest = try SyntheticClosure.manifest(
            pathCount: parameters.paths, totalBytes: UInt64(parameters.closureMiB * 1_048_576),
            chunkSize: parameters.chunkSize, using: &rng)
        let key = try SyntheticClosure.key()
        var catalog = ManifestCatalog()
        try catalog.add(SignedManifest.sign(manifest, with: [key]))
        table = ChunkTable(manifest: manifest)
        wantedPaths = Array(manifest.paths.indices)
        let seedAddress = PeerAddress(ip: [10, 255, 255, 254], port: 7020)!
        seed = SeedCore(
            catalog: catalog, hello: Hello(role: .seed, nodeID: Self.nodeID(0), listenPort: 7020),
            randomSeed: rng.next(), maxBytesInFlight: parameters.seedBytesInFlight)
        let bytesPerMbit = 125_000.0
        var hosts = [HostLink(up: parameters.seedMbit * bytesPerMbit, down: parameters.seedMbit * bytesPerMbit)]
        addressOf = [seedAddress]
        hostOf[seedAddress] = 0
        clients = [nil]
        var configuration = parameters.swarm
        configuration.listenPort = 7000
        for h in 1...parameters.clients {
            let address = PeerAddress(ip: [10, 0, UInt8(h >> 8), UInt8(h & 0xFF)], port: 7000)!
            addressOf.append(address)
            hostOf[address] = h
            hosts.append(
                HostLink(up: parameters.clientUpMbit * bytesPerMbit, down: parameters.clientDownMbit * bytesPerMbit))
            clients.append(
                SwarmClient(
                    configuration: configuration, seed: seedAddress, nodeID: Self.nodeID(h),
                    toplevel: manifest.toplevels[0], trustedKeys: [key.publicKey], randomSeed: rng.next()))
        }
        links = LinkModel(hosts: hosts, latency: parameters.latencyMilliseconds / 1000)
        startedAt = [Double](repeating: 0, count: parameters.clients + 1)
        completions = [Double?](repeating: nil, count: parameters.clients + 1)
        for h in 1...parameters.clients {
            let t =
                parameters.startSpreadSeconds > 0
                ? Double.random(in: 0..<parameters.startSpreadSeconds, using: &rng) : 0
            queue.push(t, .start(h))
        }
        queue.push(0, .tick(0))
    }

    static func nodeID(_ host: Int) -> [UInt8] {
        Array(Blake2b256.hash(Array("node \(host)".utf8)).bytes.prefix(16))
    }

    /// T_min = max(F/u_seed, F/d_min, N·F/(u_seed + Σu_i)), in seconds.
    public var tMin: Double {
        let f = Double(table.bytes)
        let hosts = links.hosts
        let n = Double(parameters.clients)
        let sumUp = hosts.dropFirst().reduce(0) { $0 + $1.up }
        let dMin = hosts.dropFirst().map(\.down).min() ?? .infinity
        return max(f / hosts[0].up, f / dMin, n * f / (hosts[0].up + sumUp))
    }

    public mutating func run() -> SimulationResult {
        let limit = tMin * parameters.timeLimitFactor + parameters.startSpreadSeconds
        var events = 0
        while let (time, event) = queue.pop(), time <= limit {
            now = time
            events += 1
            handle(event)
            if completions.dropFirst().allSatisfy({ $0 != nil }) || failures.count == parameters.clients { break }
        }
        var result = SimulationResult(
            closureBytes: table.bytes, tMin: tMin, completions: Array(completions.dropFirst()), seedBytes: seedBytes,
            peerBytes: peerBytes, failures: failures, events: events)
        result.seedDone = seedBusyUntil
        result.seedIdle = seedIdle
        result.seedManifestBytes = seedManifestBytes
        result.seedManifests = seed.counters.manifestsSent
        result.manifestReferrals = seed.counters.manifestReferrals
        for c in clients.dropFirst() {
            result.stalls += c!.statistics.stalls
            result.duplicateChunks += c!.statistics.duplicateChunks
        }
        return result
    }

    private var milliseconds: UInt64 { UInt64(now * 1000) }

    private mutating func handle(_ event: Event) {
        switch event {
        case .start(let h):
            startedAt[h] = now
            perform(h, clients[h]!.start(now: milliseconds))
            queue.push(now + 0.25, .tick(h))
        case .tick(0):
            performSeed(seed.tick(now: milliseconds))
            queue.push(now + 0.25, .tick(0))
        case .tick(let h):
            perform(h, clients[h]!.tick(now: milliseconds))
            queue.push(now + 0.25, .tick(h))
        case .deliver(let h, let c, let message):
            guard peerOf[Endpoint(host: h, connection: c)] != nil else { return }
            if h == 0 {
                performSeed(seed.received(c, message, now: milliseconds))
            } else {
                perform(h, clients[h]!.received(c, message, now: milliseconds))
            }
        case .chunk(let h, let c, let index):
            guard peerOf[Endpoint(host: h, connection: c)] != nil else { return }
            perform(h, clients[h]!.chunkArrived(c, index: index, data: [][...], intact: true, now: milliseconds))
        case .dial(let from, let c, let target):
            let caller = Endpoint(host: from, connection: c)
            // Closed while its dial was on the way: it never arrives (as a cancelled connect).
            guard abandoned.remove(caller) == nil else { return }
            let arrive = now + links.latency
            if target == 0 {
                seedConnections += 1
                let id = seedConnections
                pair(caller, Endpoint(host: 0, connection: id))
                queue.push(arrive, .connected(from, c))
                seed.accepted(id, remote: PeerAddress(ip: addressOf[from].ip, port: 0))
            } else {
                let id = clients[target]!.newConnectionID()
                pair(caller, Endpoint(host: target, connection: id))
                queue.push(arrive, .connected(from, c))
                perform(target, clients[target]!.accepted(id, now: milliseconds))
            }
        case .connected(let h, let c):
            guard peerOf[Endpoint(host: h, connection: c)] != nil else { return }
            perform(h, clients[h]!.connected(c, now: milliseconds))
        case .uplinkFree(let h):
            links.hosts[h].busy = false
            sendNext(h)
        case .closed(let h, let c):
            let e = Endpoint(host: h, connection: c)
            guard peerOf.removeValue(forKey: e) != nil else { return }
            if h == 0 { performSeed(seed.closed(c)) } else { perform(h, clients[h]!.closed(c, now: milliseconds)) }
        }
    }

    private mutating func pair(_ a: Endpoint, _ b: Endpoint) {
        peerOf[a] = b
        peerOf[b] = a
    }

    /// Arrival time on the connection from `e`, in order after what it sent before.
    private mutating func inOrder(_ e: Endpoint, _ t: Double) -> Double {
        let at = max(t, lastArrival[e] ?? 0)
        lastArrival[e] = at
        return at
    }

    private mutating func send(from e: Endpoint, _ message: Message) {
        guard let to = peerOf[e] else { return }
        if case .manifest(let file) = message {
            // A manifest is as big as a few chunks (per path: name, hashes, signatures; per
            // chunk: an id): it takes its turn on the sender's uplink like one.
            links.enqueue(.message(message, bytes: file.count + 5), host: e.host, connection: e.connection)
            sendNext(e.host)
            return
        }
        queue.push(inOrder(e, now + links.latency), .deliver(to.host, to.connection, message))
    }

    private mutating func serve(from e: Endpoint, _ ids: [ChunkID]) {
        guard peerOf[e] != nil else { return }
        for id in ids {
            guard let index = table.index(of: id) else { continue }
            links.enqueue(.chunk(index), host: e.host, connection: e.connection)
        }
        sendNext(e.host)
    }

    /// Puts the next waiting chunk on `host`'s uplink, if it is free.
    private mutating func sendNext(_ host: Int) {
        guard !links.hosts[host].busy else { return }
        while let (c, item) = links.next(host: host) {
            let e = Endpoint(host: host, connection: c)
            guard let to = peerOf[e] else {
                links.forget(host: host, connection: c)
                continue
            }
            var size = 0
            var chunk: Int?
            switch item {
            case .chunk(let index):
                size = Int(table.sizes[index])
                chunk = index
            case .message(_, let bytes): size = bytes
            }
            let (upEnd, arrival) = links.transfer(size + 37, from: host, to: to.host, at: now)
            if host == 0 {
                if chunk != nil { seedBytes += UInt64(size) } else { seedManifestBytes += UInt64(size) }
                seedIdle += max(0, now - seedBusyUntil)
                seedBusyUntil = upEnd
            } else if chunk != nil {
                peerBytes += UInt64(size)
            }
            switch item {
            case .chunk(let index): queue.push(inOrder(e, arrival), .chunk(to.host, to.connection, index))
            case .message(let m, _): queue.push(inOrder(e, arrival), .deliver(to.host, to.connection, m))
            }
            links.hosts[host].busy = true
            queue.push(upEnd, .uplinkFree(host))
            return
        }
    }

    private mutating func close(_ e: Endpoint) {
        guard let to = peerOf.removeValue(forKey: e) else {
            if e.host != 0 { abandoned.insert(e) }
            return
        }
        queue.push(inOrder(e, now + links.latency), .closed(to.host, to.connection))
    }

    private mutating func perform(_ h: Int, _ actions: [SwarmClient.Action]) {
        for action in actions {
            switch action {
            case .send(let c, let m): send(from: Endpoint(host: h, connection: c), m)
            case .connect(let c, let address):
                guard let target = hostOf[address] else {
                    perform(h, clients[h]!.connectFailed(c, reason: "no such host", now: milliseconds))
                    continue
                }
                queue.push(now + links.latency, .dial(h, c, target))
            case .close(let c, _): close(Endpoint(host: h, connection: c))
            case .verified:
                perform(h, clients[h]!.plan(wantedPaths: wantedPaths, holding: [], now: milliseconds))
            case .store, .restore: break
            case .serve(let c, let ids): serve(from: Endpoint(host: h, connection: c), ids)
            case .finished: completions[h] = now - startedAt[h]
            case .fail(let line): failures.append("client \(h): \(line)")
            }
        }
    }

    private mutating func performSeed(_ actions: [SeedCore.Action]) {
        for action in actions {
            switch action {
            case .send(let c, let m): send(from: Endpoint(host: 0, connection: c), m)
            case .serve(let c, let ids): serve(from: Endpoint(host: 0, connection: c), ids)
            case .close(let c, _): close(Endpoint(host: 0, connection: c))
            case .reported: break
            }
        }
    }
}
