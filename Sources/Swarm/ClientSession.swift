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
        case chunk(ChunkID, ArraySlice<UInt8>)
        case missing(ChunkID)
        /// Stop: one line for the console.
        case fail(String)
    }

    public private(set) var state: State = .connecting
    let hello: Hello
    let selector: ManifestSelector
    let trustedKeys: [NixPublicKey]

    public init(hello: Hello, selector: ManifestSelector, trustedKeys: [NixPublicKey]) {
        self.hello = hello
        self.selector = selector
        self.trustedKeys = trustedKeys
    }

    public mutating func connected() -> [Action] {
        guard state == .connecting else { return [] }
        state = .awaitingHello
        return [.send(.hello(hello)), .send(.getManifest(selector))]
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
            do {
                let signed = try SignedManifest.decode(file[...])
                let manifest = try signed.verified(trustedKeys: trustedKeys)
                state = .transferring
                return [.verified(manifest, signed.id)]
            } catch let error as ManifestTrustError {
                return fail("manifest refused: \(error)")
            } catch {
                return fail("manifest refused: \(error)")
            }
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
