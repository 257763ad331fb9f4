// The fetching side of one connection, as a pure state machine: HELLO both ways, the manifest
// asked for and verified against the trusted keys before anything else, then chunks.
import NixFormats
import Sodium

public struct ClientSession: Sendable {
    public enum State: Equatable, Sendable {
        case connecting
        case awaitingHello
        case awaitingManifest
        case transferring
        case closed
    }

    public enum Action: Equatable, Sendable {
        case send(Message)
        /// The manifest verified under a trusted key (and its id): plan the fetch.
        case verified(Manifest, Digest256)
        /// The seed names members that hold manifest `id`: fetch it from them (`fromPeer`), or
        /// ask the seed again (`askSeedByID`).
        case manifestAt(Digest256, [PeerEntry])
        case chunk(ChunkID, ArraySlice<UInt8>)
        case missing(ChunkID)
        /// Stop: one line for the console.
        case fail(String)
    }

    public private(set) var state: State = .connecting
    let hello: Hello
    let selector: ManifestSelector
    let trustedKeys: [NixPublicKey]
    let peersWelcome: Bool
    /// The manifest the seed named in MANIFEST_PEERS: the only one accepted from then on.
    public private(set) var namedID: Digest256?
    /// The signed manifest (file form) once accepted: what this node hands to peers that ask.
    public private(set) var file: [UInt8]?

    public init(hello: Hello, selector: ManifestSelector, trustedKeys: [NixPublicKey], peersWelcome: Bool = false) {
        self.hello = hello
        self.selector = selector
        self.trustedKeys = trustedKeys
        self.peersWelcome = peersWelcome
    }

    public mutating func connected() -> [Action] {
        guard state == .connecting else { return [] }
        state = .awaitingHello
        return [.send(.hello(hello)), .send(.getManifest(selector, peersWelcome: peersWelcome))]
    }

    /// A manifest fetched from a peer: accepted as from the seed, or nil (refused: ask elsewhere;
    /// a peer's bad manifest costs that link, not the fetch).
    public mutating func fromPeer(_ file: [UInt8]) -> Action? {
        guard state == .awaitingManifest, case .success(let (manifest, id)) = check(file) else { return nil }
        state = .transferring
        self.file = file
        return .verified(manifest, id)
    }

    /// After MANIFEST_PEERS, when no named peer gave the manifest: the seed answers MANIFEST.
    public func askSeedByID() -> [Action] {
        guard state == .awaitingManifest, let namedID else { return [] }
        return [.send(.getManifest(.id(namedID), peersWelcome: false))]
    }

    /// Why a manifest is refused.
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    /// A signed manifest is trusted when a trusted key signed it and it is the one asked for:
    /// it lists the toplevel asked for (or has the id asked for, or the one the seed named).
    /// Otherwise anyone holding an older signed manifest could hand out another system.
    public func check(_ file: [UInt8]) -> Result<(Manifest, Digest256), Refusal> {
        do {
            let signed = try SignedManifest.decode(file[...])
            let manifest = try signed.verified(trustedKeys: trustedKeys)
            if let namedID, signed.id != namedID {
                return .failure(Refusal(description: "not the manifest the seed named"))
            }
            switch selector {
            case .toplevel(let path) where !manifest.toplevels.contains(path):
                return .failure(Refusal(description: "it does not list \(path.fullPath)"))
            case .id(let id) where id != signed.id:
                return .failure(Refusal(description: "it is not manifest \(id.hex)"))
            default:
                return .success((manifest, signed.id))
            }
        } catch {
            return .failure(Refusal(description: "\(error)"))
        }
    }

    public mutating func received(_ message: Message) -> [Action] {
        switch (state, message) {
        case (.awaitingHello, .hello(let theirs)):
            guard theirs.version == Hello.currentVersion else {
                return fail("seed speaks protocol version \(theirs.version)")
            }
            state = .awaitingManifest
            return []
        case (.awaitingManifest, .manifest(let file)):
            switch check(file) {
            case .success(let (manifest, id)):
                state = .transferring
                self.file = file
                return [.verified(manifest, id)]
            case .failure(let refusal):
                return fail("manifest refused: \(refusal)")
            }
        case (.awaitingManifest, .manifestPeers(let id, let peers)) where peersWelcome && namedID == nil:
            namedID = id
            return [.manifestAt(id, peers)]
        case (.awaitingManifest, .error(.notFound, _)):
            return fail("the seed has no manifest for \(selectorText)")
        case (.transferring, .chunk(let id, let data)):
            return [.chunk(id, data)]
        case (.transferring, .missing(let id)):
            return [.missing(id)]
        case (_, .ping(let nonce)) where state != .closed:
            return [.send(.pong(nonce))]
        case (_, .pong):
            return []
        case (.closed, _):
            return []
        case (_, .error(let code, let text)):
            return fail("seed reported \(code): \(text)")
        default:
            return fail("protocol violation: unexpected \(message.type) while \(state)")
        }
    }

    public mutating func malformed(_ error: WireError) -> [Action] { fail("protocol violation: \(error)") }

    private var selectorText: String {
        switch selector {
        case .toplevel(let p): p.fullPath
        case .id(let id): id.hex
        }
    }

    private mutating func fail(_ line: String) -> [Action] {
        state = .closed
        return [.fail(line)]
    }
}
