// The messages of the chunk protocol (protocol/SPEC.md §5).
import NixFormats
import Sodium

public enum MessageType: UInt8, Sendable, CaseIterable {
    case hello = 0x01
    case getManifest = 0x02
    case manifest = 0x03
    case request = 0x04
    case chunk = 0x05
    case missing = 0x06
    case error = 0x07
    case ping = 0x08
    case pong = 0x09
    case bitfield = 0x0A
    case have = 0x0B
    case getPeers = 0x0C
    case peers = 0x0D
    case requestAny = 0x0E
    case offer = 0x0F
    case report = 0x10
    case manifestPeers = 0x11
}

/// Who is speaking: an initrd agent or fetcher, a booted peer, or raven's seed.
public enum NodeRole: UInt8, Sendable {
    case agent = 1
    case peer = 2
    case seed = 3
}

public struct Hello: Equatable, Sendable {
    public static let magic: [UInt8] = Array("RKRY".utf8)
    public static let currentVersion: UInt16 = 1

    public var version: UInt16
    public var role: NodeRole
    /// Random per process; tells peers apart behind one address.
    public var nodeID: [UInt8]
    /// Where this node serves chunks (0: it does not).
    public var listenPort: UInt16

    public init(version: UInt16 = Hello.currentVersion, role: NodeRole, nodeID: [UInt8], listenPort: UInt16) {
        self.version = version
        self.role = role
        self.nodeID = nodeID
        self.listenPort = listenPort
    }
}

/// Which manifest a GET_MANIFEST asks for.
public enum ManifestSelector: Equatable, Sendable {
    /// The newest manifest that has this toplevel (what `init=` names).
    case toplevel(StorePath)
    /// A manifest by id.
    case id(Digest256)
}

public enum ErrorCode: UInt16, Sendable {
    case notFound = 1
    case protocolViolation = 2
    case busy = 3
    case unsupportedVersion = 4
}

public enum Message: Equatable, Sendable {
    case hello(Hello)
    /// `peersWelcome`: the asker can take the manifest from peers (the seed may answer
    /// MANIFEST_PEERS instead of MANIFEST).
    case getManifest(ManifestSelector, peersWelcome: Bool)
    /// A signed manifest in its file form.
    case manifest([UInt8])
    /// Chunks wanted, in the order they should come.
    case request([ChunkID])
    /// A chunk's bytes (a slice of the receive buffer: no copy).
    case chunk(ChunkID, ArraySlice<UInt8>)
    /// The sender does not have this chunk.
    case missing(ChunkID)
    case error(ErrorCode, String)
    case ping(UInt64)
    case pong(UInt64)
    /// What the sender holds of a manifest's chunk table (to the seed: it joins that swarm).
    case bitfield(manifest: Digest256, Bitfield)
    /// Chunk-table indices the sender verified since its BITFIELD.
    case have([UInt32])
    /// Asks the seed for up to this many peers of the announced swarm.
    case getPeers(UInt16)
    case peers([PeerEntry])
    /// Asks the seed to choose chunks the sender lacks: at most `count`, about `bytes`.
    case requestAny(count: UInt16, bytes: UInt32)
    /// The seed's choice; those CHUNK frames follow. Empty: nothing to hand out now.
    case offer([UInt32])
    /// To the seed: node ids that sent this client chunks not matching their ids (it banned them).
    case report([[UInt8]])
    /// The seed's answer to a GET_MANIFEST with peers welcome: these members hold manifest `id`;
    /// ask them for it by id (or ask the seed again by id, which answers MANIFEST).
    case manifestPeers(Digest256, [PeerEntry])

    public var type: MessageType {
        switch self {
        case .hello: .hello
        case .getManifest: .getManifest
        case .manifest: .manifest
        case .request: .request
        case .chunk: .chunk
        case .missing: .missing
        case .error: .error
        case .ping: .ping
        case .pong: .pong
        case .bitfield: .bitfield
        case .have: .have
        case .getPeers: .getPeers
        case .peers: .peers
        case .requestAny: .requestAny
        case .offer: .offer
        case .report: .report
        case .manifestPeers: .manifestPeers
        }
    }

    public static func == (a: Message, b: Message) -> Bool {
        switch (a, b) {
        case (.hello(let x), .hello(let y)): x == y
        case (.getManifest(let x, let p), .getManifest(let y, let q)): x == y && p == q
        case (.manifest(let x), .manifest(let y)): x == y
        case (.request(let x), .request(let y)): x == y
        case (.chunk(let i, let x), .chunk(let j, let y)): i == j && x.elementsEqual(y)
        case (.missing(let x), .missing(let y)): x == y
        case (.error(let c, let m), .error(let d, let n)): c == d && m == n
        case (.ping(let x), .ping(let y)): x == y
        case (.pong(let x), .pong(let y)): x == y
        case (.bitfield(let m, let x), .bitfield(let n, let y)): m == n && x == y
        case (.have(let x), .have(let y)): x == y
        case (.getPeers(let x), .getPeers(let y)): x == y
        case (.peers(let x), .peers(let y)): x == y
        case (.requestAny(let c, let b), .requestAny(let d, let e)): c == d && b == e
        case (.offer(let x), .offer(let y)): x == y
        case (.report(let x), .report(let y)): x == y
        case (.manifestPeers(let i, let x), .manifestPeers(let j, let y)): i == j && x == y
        default: false
        }
    }
}
