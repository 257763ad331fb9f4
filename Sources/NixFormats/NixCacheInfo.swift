// nix-cache-info: the binary cache's header file.
// Reference: NixOS/nix src/libstore/binary-cache-store.cc (BinaryCacheStore::init): lines split
// on '\n', key before the first ':', value trimmed; unknown keys ignored.

public struct NixCacheInfo: Equatable, Sendable {
    public var storeDirectory: String
    public var wantMassQuery: Bool
    /// Lower wins; cache.nixos.org uses 40.
    public var priority: Int?

    public init(storeDirectory: String = StorePath.storeDirectory, wantMassQuery: Bool = true, priority: Int? = 30) {
        self.storeDirectory = storeDirectory
        self.wantMassQuery = wantMassQuery
        self.priority = priority
    }

    public static func parse(_ text: String) throws(NixFormatError) -> NixCacheInfo {
        var info = NixCacheInfo(storeDirectory: "", wantMassQuery: false, priority: nil)
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon]
            let value = trimmed(line[line.index(after: colon)...])
            switch key {
            case "StoreDir": info.storeDirectory = value
            case "WantMassQuery": info.wantMassQuery = value == "1"
            case "Priority":
                guard let p = Int(value) else { throw .badCacheInfo("invalid Priority '\(value)'") }
                info.priority = p
            default: break
            }
        }
        guard info.storeDirectory == StorePath.storeDirectory else {
            throw .badCacheInfo("binary cache is for store '\(info.storeDirectory)', not '\(StorePath.storeDirectory)'")
        }
        return info
    }

    public func render() -> String {
        var out = "StoreDir: \(storeDirectory)\nWantMassQuery: \(wantMassQuery ? 1 : 0)\n"
        if let priority { out += "Priority: \(priority)\n" }
        return out
    }

    private static func trimmed(_ s: Substring) -> String {
        let ws: Set<Character> = [" ", "\t", "\r", "\n"]
        return String(s.drop(while: { ws.contains($0) }).reversed().drop(while: { ws.contains($0) }).reversed())
    }
}
