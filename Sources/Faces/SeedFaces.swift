// The seed's HTTP face: the binary cache, `/status` (JSON) and `/metrics` (Prometheus).
import Foundation
import HTTP
import Runtime
import Services

public final class SeedFaces: HTTPHandler {
    let seed: SeedService
    let cache: BinaryCacheFace
    /// Set once the server exists (it needs this handler first).
    public weak var server: HTTPServer?

    public init(seed: SeedService, cache: BinaryCacheFace) {
        self.seed = seed
        self.cache = cache
    }

    public func status() -> SwarmStatus {
        SwarmStatus(
            seed: seed, http: server?.counters ?? HTTPServer.Counters(), httpConnections: server?.connectionCount ?? 0,
            nowMilliseconds: seed.loop.nowMilliseconds)
    }

    public func respond(to request: HTTPMessage) -> HTTPResponse {
        switch request.path {
        case "/status":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let json = (try? encoder.encode(status())).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return .text(200, json + "\n", type: "application/json")
        case "/metrics":
            return .text(200, status().prometheusText, type: "text/plain; version=0.0.4; charset=utf-8")
        case "/":
            return .text(200, "rookery seed: /nix-cache-info, /<hash>.narinfo, /nar/…, /status, /metrics\n")
        default:
            return cache.respond(path: request.path) ?? .notFound
        }
    }
}
