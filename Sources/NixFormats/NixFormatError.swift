// The typed error of the pure Nix formats (everything but the NAR stream, which has NarError).

public enum NixFormatError: Error, Equatable, Sendable, CustomStringConvertible {
    case badHash(String)
    case badStorePath(String)
    case badNarInfo(String)
    case badCacheInfo(String)
    case badKey(String)
    case badSignature(String)
    case badRegistration(String)

    public var description: String {
        switch self {
        case .badHash(let m): "bad hash: \(m)"
        case .badStorePath(let m): "bad store path: \(m)"
        case .badNarInfo(let m): "bad narinfo: \(m)"
        case .badCacheInfo(let m): "bad nix-cache-info: \(m)"
        case .badKey(let m): "bad key: \(m)"
        case .badSignature(let m): "bad signature: \(m)"
        case .badRegistration(let m): "bad registration: \(m)"
        }
    }
}
