// narinfo: the per-path metadata of a binary cache, with Nix's exact line rules.
// Reference: NixOS/nix src/libstore/nar-info.cc. A line is `Key: Value\n`: the value runs from
// two bytes after the first ':' to the next '\n' (so a bare `References:` swallows the next
// line, as in Nix); every line ends in '\n'; unknown keys are ignored.

public struct NarInfo: Equatable, Sendable {
    public var storePath: StorePath
    public var url: String
    /// Nix reads a missing or empty Compression as bzip2.
    public var compression: String
    public var fileHash: NixHash?
    public var fileSize: UInt64?
    public var narHash: NixHash
    public var narSize: UInt64
    public var references: [StorePath]
    public var deriver: StorePath?
    public var system: String?
    public var signatures: [String]
    public var contentAddress: String?

    public init(
        storePath: StorePath, url: String, compression: String = "none", fileHash: NixHash? = nil,
        fileSize: UInt64? = nil, narHash: NixHash, narSize: UInt64, references: [StorePath] = [],
        deriver: StorePath? = nil, system: String? = nil, signatures: [String] = [], contentAddress: String? = nil
    ) {
        self.storePath = storePath
        self.url = url
        self.compression = compression
        self.fileHash = fileHash
        self.fileSize = fileSize
        self.narHash = narHash
        self.narSize = narSize
        self.references = references
        self.deriver = deriver
        self.system = system
        self.signatures = signatures
        self.contentAddress = contentAddress
    }

    /// The path's identity for signatures.
    public var pathInfo: PathInfo {
        PathInfo(storePath: storePath, narHash: narHash, narSize: narSize, references: references, deriver: deriver)
    }

    public static func parse(_ text: String) throws(NixFormatError) -> NarInfo {
        let s = Array(text.utf8)
        var storePath: StorePath?
        var url = ""
        var compression = ""
        var fileHash: NixHash?
        var fileSize: UInt64?
        var narHash: NixHash?
        var narSize: UInt64 = 0
        var references: [StorePath] = []
        var sawReferences = false
        var deriver: StorePath?
        var system: String?
        var signatures: [String] = []
        var contentAddress: String?

        var pos = 0
        var line = 1
        while pos < s.count {
            guard let colon = s[pos...].firstIndex(of: UInt8(ascii: ":")) else {
                throw .badNarInfo("expecting ':' at line \(line)")
            }
            let valueStart = colon + 2
            guard valueStart <= s.count, let eol = s[valueStart...].firstIndex(of: UInt8(ascii: "\n")) else {
                throw .badNarInfo("expecting '\\n' at line \(line)")
            }
            let key = String(decoding: s[pos..<colon], as: UTF8.self)
            let value = String(decoding: s[valueStart..<eol], as: UTF8.self)
            switch key {
            case "StorePath": storePath = try StorePath(value)
            case "URL": url = value
            case "Compression": compression = value
            case "FileHash": fileHash = try NixHash.parsePrefixed(value)
            case "FileSize":
                guard let n = UInt64(value) else { throw .badNarInfo("invalid FileSize at line \(line)") }
                fileSize = n
            case "NarHash": narHash = try NixHash.parsePrefixed(value)
            case "NarSize":
                guard let n = UInt64(value) else { throw .badNarInfo("invalid NarSize at line \(line)") }
                narSize = n
            case "References":
                if sawReferences && !references.isEmpty { throw .badNarInfo("extra References at line \(line)") }
                sawReferences = true
                for r in value.split(separator: " ", omittingEmptySubsequences: true) {
                    references.append(try StorePath(r))
                }
            case "Deriver":
                if value != "unknown-deriver" { deriver = try StorePath(value) }
            case "System": system = value
            case "Sig": signatures.append(value)
            case "CA":
                if contentAddress != nil { throw .badNarInfo("extra CA at line \(line)") }
                contentAddress = value
            default: break
            }
            pos = eol + 1
            line += 1
        }
        guard let storePath else { throw .badNarInfo("StorePath missing") }
        guard let narHash else { throw .badNarInfo("NarHash missing") }
        guard !url.isEmpty else { throw .badNarInfo("URL missing") }
        guard narSize != 0 else { throw .badNarInfo("NarSize missing or zero") }
        return NarInfo(
            storePath: storePath, url: url, compression: compression.isEmpty ? "bzip2" : compression,
            fileHash: fileHash, fileSize: fileSize, narHash: narHash, narSize: narSize,
            references: references.sorted(), deriver: deriver, system: system,
            signatures: Array(Set(signatures)).sorted(), contentAddress: contentAddress)
    }

    /// Renders in the order Nix writes; `References: ` is always present (with its trailing
    /// space when empty), signatures sorted as Nix's set keeps them.
    public func render() -> String {
        var out = "StorePath: \(storePath.fullPath)\n"
        out += "URL: \(url)\n"
        out += "Compression: \(compression)\n"
        if let fileHash { out += "FileHash: \(fileHash)\n" }
        if let fileSize { out += "FileSize: \(fileSize)\n" }
        out += "NarHash: \(narHash)\n"
        out += "NarSize: \(narSize)\n"
        out += "References: \(references.sorted().map(\.baseName).joined(separator: " "))\n"
        if let deriver { out += "Deriver: \(deriver.baseName)\n" }
        if let system { out += "System: \(system)\n" }
        for sig in Array(Set(signatures)).sorted() { out += "Sig: \(sig)\n" }
        if let contentAddress { out += "CA: \(contentAddress)\n" }
        return out
    }
}
