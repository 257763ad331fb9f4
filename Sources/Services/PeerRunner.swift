// `rookery peer` on a booted machine: one serve-only FetchEngine per toplevel (each its own
// manifest and swarm), all on one loop, until SIGINT/SIGTERM. It fetches nothing and writes
// nothing; it joins each swarm as a holder of the paths that are on disk, so raven lists it
// first (a completed peer) and hands out less itself.
import NixFormats
import Runtime
import Sodium
import Store

public enum PeerRunner {
    public struct Outcome: Sendable {
        /// Per toplevel: its report, or the line that says why it could not serve.
        public var results: [(toplevel: StorePath, result: FetchEngine.Outcome)]
        public var servedAny: Bool {
            results.contains { if case .finished = $0.result { true } else { false } }
        }
    }

    /// Runs until a signal, or until every engine has failed. Engine `i` listens on
    /// `listen.port + i` (port 0: any free port for each); `serving` is told where each serves.
    /// `attach` may start more services on the loop (the HTTP face); what it returns stops them.
    public static func run(
        _ configurations: [FetchEngine.Configuration],
        attach: (EventLoop, [FetchEngine]) throws(RuntimeError) -> (() -> Void) = { _, _ in {} },
        serving: @escaping (StorePath, SocketAddress?, FetchEngine.Report) -> Void
    ) throws(RuntimeError) -> Outcome {
        let loop = try EventLoop()
        let nodeID = randomBytes(16)
        var engines: [FetchEngine] = []
        var running = configurations.count
        var signals: SignalWatcher?
        var stopAttached: () -> Void = {}
        signals = try SignalWatcher(loop: loop) { signal in
            for engine in engines { engine.interrupt("stopped by signal \(signal)") }
        }
        for var configuration in configurations {
            configuration.servesOnly = true
            let engine = FetchEngine(loop: loop, configuration: configuration, nodeID: nodeID)
            engine.whenServing = { [unowned engine] report in
                serving(configuration.toplevel, engine.servingAddress, report)
            }
            engine.whenEnded = {
                running -= 1
                if running == 0 {
                    signals?.close()
                    stopAttached()
                }
            }
            engines.append(engine)
        }
        stopAttached = try attach(loop, engines)
        for engine in engines { engine.start() }
        loop.run()
        return Outcome(
            results: zip(configurations, engines).map {
                ($0.toplevel, $1.outcome ?? .failed("stopped without a result"))
            })
    }
}
