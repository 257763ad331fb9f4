// The serving side of one connection (seed now, peers later), as a pure state machine:
// frames in, actions out. The runtime performs the actions and reads chunk bytes from disk.
import NixFormats
import Sodium

public struct ServerSession: Sendable {
    public enum State: Equatable, Sendable {
        case awaitingHello
        case ready
        case closed
    }

    public enum Action: Equatable, Sendable {
        case send(Message)
        /// Answer with manifest `id` (found for a GET_MANIFEST), or with members that hold it
        /// when the asker welcomes peers: the seed decides.
        /// `toplevel`: the path it was asked for by (nil when asked for by id).
        case manifestAsked(Digest256, peersWelcome: Bool, toplevel: StorePath?)
        /// Send these chunks (or MISSING for any not held), in this order.
        case serve([ChunkID])
        /// A swarm message (BITFIELD, HAVE, GET_PEERS, REQUEST_ANY) for the seed's tracker.
        case swarm(Message)
        case close(reason: String)
    }

    public private(set) var state: State = .awaitingHello
    let hello: Hello
    /// The other side's HELLO, once received.
    public private(set) var theirs: Hello?

    public init(hello: Hello) { self.hello = hello }

    public mutating func received(_ message: Message, catalog: ManifestCatalog) -> [Action] {
        switch (state, message) {
        case (.closed, _):
            return []
        case (.awaitingHello, .hello(let theirs)):
            guard theirs.version == Hello.currentVersion else {
                state = .closed
                return [
                    .send(.error(.unsupportedVersion, "version \(theirs.version) is not supported")),
                    .close(reason: "unsupported version"),
                ]
            }
            state = .ready
            self.theirs = theirs
            return [.send(.hello(hello))]
        case (.awaitingHello, _):
            return violation("expected HELLO first")
        case (.ready, .getManifest(let selector, let peersWelcome)):
            guard let entry = catalog.find(selector) else { return [.send(.error(.notFound, "no such manifest"))] }
            var toplevel: StorePath?
            if case .toplevel(let path) = selector { toplevel = path }
            return [.manifestAsked(entry.signed.id, peersWelcome: peersWelcome, toplevel: toplevel)]
        case (.ready, .request(let ids)):
            return [.serve(ids)]
        case (.ready, .ping(let nonce)):
            return [.send(.pong(nonce))]
        case (.ready, .pong), (.ready, .error):
            return []
        case (.ready, .bitfield), (.ready, .have), (.ready, .getPeers), (.ready, .requestAny),
            (.ready, .report):
            return [.swarm(message)]
        case (.ready, _):
            return violation("unexpected \(message.type)")
        }
    }

    /// A frame that did not decode.
    public mutating func malformed(_ error: WireError) -> [Action] {
        violation("\(error)")
    }

    private mutating func violation(_ reason: String) -> [Action] {
        state = .closed
        return [.send(.error(.protocolViolation, reason)), .close(reason: reason)]
    }
}
