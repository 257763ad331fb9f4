// `rookery simulate`: the real swarm logic over a modelled LAN in virtual time.
import ArgumentParser
import Foundation
import Simulation
import Swarm

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the swarm's state machines (seed and clients) over a modelled LAN in virtual time.")

    @Option(help: "Clients switched on together.") var clients = 16
    @Option(help: "Each client's upload and download rate, Mbit/s.") var linkMbit = 50.0
    @Option(help: "The seed's rate, Mbit/s.") var seedMbit = 50.0
    @Option(help: "Closure size in MiB (NAR bytes).") var closureMib = 128.0
    @Option(help: "Store paths in the closure (sizes log-uniform, 1 KiB to 64 MiB).") var paths = 300
    @Option(help: "Chunk size in KiB (power of two, 64…4096).") var chunkKib: UInt32 =
        ChunkLayout.defaultChunkSize / 1024
    @Option(help: "One-way latency to the switch, ms.") var latencyMs = 0.25
    @Option(help: "Clients start at random moments within this many seconds.") var startSpread = Seconds(0)
    @Option(help: "Random seed; the same value replays the same run.") var randomSeed: UInt64 = 1
    @Option(help: "Requests open per chunk at the tail (1: no endgame).") var endgameCopies = 2
    @Option(help: "KiB asked of one peer and not yet received.") var peerBudgetKib: UInt64 =
        SwarmClient.Configuration().peerBudgetBytes / 1024
    @Option(help: "KiB asked of the seed and not yet received.") var seedBudgetKib: UInt64 =
        SwarmClient.Configuration().seedBudgetBytes / 1024
    @Option(help: "Peer connections each client opens.") var maxOutgoing = SwarmClient.Configuration().maxOutgoing
    @Option(help: "Peer connections each client keeps at most (opened and accepted).")
    var maxConnections = SwarmClient.Configuration().maxConnections
    @Option(help: "KiB the seed has on their way at once while peers exist.")
    var seedInFlightKib: UInt64 = SeedScheduler.defaultMaxBytesInFlight / 1024
    @Flag(help: "Every client takes its manifest from the seed (no MANIFEST_PEERS).")
    var manifestsFromSeedOnly = false
    @Flag(help: "Print the result as JSON.") var json = false

    /// Numbers the model can run on: a chunk size or a budget whose bytes overflowed, or a rate of
    /// NaN, stopped the process or ran a model with no meaning.
    func validate() throws {
        guard clients >= 1, paths >= 1 else { throw ValidationError("--clients and --paths take a number ≥ 1") }
        for (name, value) in [("--link-mbit", linkMbit), ("--seed-mbit", seedMbit), ("--closure-mib", closureMib)] {
            guard value.isFinite, value > 0 else { throw ValidationError("\(name) takes a number > 0") }
        }
        guard latencyMs.isFinite, latencyMs >= 0 else { throw ValidationError("--latency-ms takes a number ≥ 0") }
        guard chunkKib <= ChunkLayout.maximumChunkSize / 1024, (try? ChunkLayout(chunkSize: chunkKib * 1024)) != nil
        else { throw ValidationError("--chunk-kib takes a power of two from 64 to 4096") }
        for (name, value) in [
            ("--peer-budget-kib", peerBudgetKib), ("--seed-budget-kib", seedBudgetKib),
            ("--seed-in-flight-kib", seedInFlightKib),
        ] {
            guard (1...(1 << 20)).contains(value) else { throw ValidationError("\(name) takes 1…1048576 (1 GiB)") }
        }
    }

    func run() throws {
        var p = SimulationParameters()
        p.clients = clients
        p.clientUpMbit = linkMbit
        p.clientDownMbit = linkMbit
        p.seedMbit = seedMbit
        p.closureMiB = closureMib
        p.paths = paths
        p.chunkSize = chunkKib * 1024
        p.latencyMilliseconds = latencyMs
        p.startSpreadSeconds = startSpread.seconds
        p.randomSeed = randomSeed
        p.swarm.endgameCopies = max(1, endgameCopies)
        p.swarm.peerBudgetBytes = peerBudgetKib * 1024
        p.swarm.seedBudgetBytes = seedBudgetKib * 1024
        p.seedBytesInFlight = seedInFlightKib * 1024
        p.swarm.maxOutgoing = max(1, maxOutgoing)
        p.swarm.manifestFromPeers = !manifestsFromSeedOnly
        p.swarm.maxConnections = max(p.swarm.maxOutgoing, maxConnections)
        let started = Date()
        var simulator = try Simulator(p)
        let r = simulator.run()
        let wall = Date().timeIntervalSince(started)
        let done = r.completions.compactMap { $0 }.sorted()
        let median = done.isEmpty ? .nan : done[done.count / 2]
        if json {
            let fields: [String: Any] = [
                "clients": p.clients, "closure_bytes": r.closureBytes, "t_min_s": r.tMin, "slowest_s": r.slowest,
                "slowest_over_t_min": r.slowestOverTMin, "seed_over_closure": r.seedOverClosure,
                "fastest_s": done.first ?? -1, "median_s": median, "unfinished": r.unfinished, "events": r.events,
                "wall_s": wall, "stalls": r.stalls, "duplicate_chunks": r.duplicateChunks, "seed_done_s": r.seedDone,
                "seed_idle_s": r.seedIdle, "seed_manifest_bytes": r.seedManifestBytes,
                "seed_manifests": r.seedManifests, "manifest_referrals": r.manifestReferrals, "completions_s": done,
            ]
            let data = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(
                String(
                    format:
                        "simulate  N=%d  closure %.0f MiB in %d chunks  T_min %.2f s  slowest %.2f s = %.3f × T_min  "
                        + "seed bytes ÷ closure %.3f (+ %d manifests %.3f; %d sent to peers)  seed done %.2f s (idle %.2f s)  "
                        + "spread: fastest %.2f s, median %.2f s  "
                        + "unfinished %d  stalls %d  duplicates %d  (%d events, %.1f s wall)",
                    p.clients, Double(r.closureBytes) / 1_048_576, simulator.chunkCount, r.tMin, r.slowest,
                    r.slowestOverTMin, r.seedOverClosure, r.seedManifests,
                    Double(r.seedManifestBytes) / Double(r.closureBytes), r.manifestReferrals, r.seedDone,
                    r.seedIdle, done.first ?? .nan, median,
                    r.unfinished, r.stalls,
                    r.duplicateChunks, r.events, wall))
        }
        for f in r.failures.prefix(5) { print("failure: \(f)") }
        if r.unfinished > 0 { throw ExitCode(1) }
    }
}
