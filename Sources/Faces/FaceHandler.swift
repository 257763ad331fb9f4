// The HTTP face of a seed or a peer: the binary cache, `/status` (JSON) and `/metrics`
// (Prometheus), from one description of the node's state.
import Foundation
import HTTP
import Runtime
import Services
import Store
import Swarm

public final class FaceHandler: HTTPHandler {
    public let cache: BinaryCacheFace
    /// Kernels, initrds and boot menus (raven only).
    public var boot: BootFace?
    /// The node's status, given the HTTP server's counters and open connections.
    private let describe: (HTTPServer.Counters, Int) -> SwarmStatus
    /// Runs before each request (a peer adds manifests that arrived meanwhile).
    private let prepare: () -> Void
    /// Set once the server exists (it needs this handler first).
    public weak var server: HTTPServer?

    public init(
        cache: BinaryCacheFace, prepare: @escaping () -> Void = {},
        describe: @escaping (HTTPServer.Counters, Int) -> SwarmStatus
    ) {
        self.cache = cache
        self.prepare = prepare
        self.describe = describe
    }

    /// The face of raven's seed service.
    public static func seed(_ seed: SeedService, cache: BinaryCacheFace) -> FaceHandler {
        FaceHandler(cache: cache) { counters, connections in
            SwarmStatus(
                seed: seed, http: counters, httpConnections: connections, nowMilliseconds: seed.loop.nowMilliseconds)
        }
    }

    /// The face of a booted peer: each engine's manifest joins the cache once it is verified.
    public static func peer(_ engines: [FetchEngine], loop: EventLoop, store: StoreRoot) -> FaceHandler {
        let cache = BinaryCacheFace(index: BinaryCacheIndex(), store: store, key: nil)
        let startedAt = loop.nowMilliseconds
        var added = Set<Int>()
        var held: [Int: SwarmStatus.Holding] = [:]
        return FaceHandler(
            cache: cache,
            prepare: {
                for (i, engine) in engines.enumerated() where !added.contains(i) {
                    guard let manifest = engine.manifest, let id = engine.manifestID, let table = engine.table else {
                        continue
                    }
                    added.insert(i)
                    cache.add(manifest)
                    // What this peer holds of it: the paths on disk (a booted system does not change).
                    held[i] = SwarmStatus.Holding(
                        table: table, id: id.hex,
                        present: manifest.paths.indices.filter { store.looksWhole(manifest.paths[$0].storePath) })
                }
            },
            describe: { counters, connections in
                SwarmStatus(
                    peer: engines, held: held, http: counters, httpConnections: connections,
                    uptimeSeconds: Double(loop.nowMilliseconds - startedAt) / 1000)
            })
    }

    public func status() -> SwarmStatus {
        prepare()
        return describe(server?.counters ?? HTTPServer.Counters(), server?.connectionCount ?? 0)
    }

    public func respond(to request: HTTPMessage) -> HTTPResponse {
        prepare()
        switch request.path {
        case "/status":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let json = (try? encoder.encode(status())).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return .text(200, json + "\n", type: "application/json")
        case "/metrics":
            return .text(200, status().prometheusText, type: "text/plain; version=0.0.4; charset=utf-8")
        case "/":
            return .text(200, "rookery: /nix-cache-info, /<hash>.narinfo, /nar/…, /status, /metrics\n")
        default:
            return cache.respond(path: request.path) ?? boot?.respond(path: request.path, host: request.header("Host"))
                ?? .notFound
        }
    }
}

extension FaceHandler {
    /// Starts an HTTP server on `loop` that answers with this face.
    public func serve(on loop: EventLoop, _ configuration: HTTPServer.Configuration) throws(RuntimeError) -> HTTPServer
    {
        let server = HTTPServer(loop: loop, configuration: configuration, handler: self)
        self.server = server
        try server.start()
        return server
    }
}
