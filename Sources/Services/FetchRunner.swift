// Runs one fetch on its own loop to the end: what `rookery fetch` and the agent call.
// SIGINT/SIGTERM end it at once (verified chunks stay cached for the next run).
import Runtime
import Sodium

public enum FetchRunner {
    public static func run(_ configuration: FetchEngine.Configuration) throws(RuntimeError) -> FetchEngine.Outcome {
        EventLoop.onePoolThreadPerCore()
        let loop = try EventLoop()
        let engine = FetchEngine(loop: loop, configuration: configuration, nodeID: randomBytes(16))
        let signals = try SignalWatcher(loop: loop) { signal in
            engine.interrupt("stopped by signal \(signal)")
        }
        engine.whenEnded = { signals.close() }
        engine.start()
        loop.run()
        return engine.outcome ?? .failed("the fetch stopped without a result")
    }
}
