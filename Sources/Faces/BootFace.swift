// Boot files over HTTP from raven: each published system's kernel and initrd (with HEAD and
// ranges, read from the store), and the generated menus of BootMenu. A toplevel is bootable
// when its `kernel` and `initrd` links resolve inside the store; other closures are not listed.
// The agent's seed address is the host the client reached raven's HTTP face at, with the chunk
// protocol's port: no address to configure twice.
import BootMenus
import Glibc
import HTTP
import NixFormats
import Store
import Swarm

public final class BootFace {
    struct Bootable {
        let entry: BootMenu.Entry
        let kernel: String
        let initrd: String
    }

    private var bootables: [String: Bootable] = [:]
    private let seedPort: UInt16
    private let keys: [String]
    private let macs: [(mac: String, toplevel: String)]

    /// `manifests` oldest first (their order is the generation number).
    public init(
        manifests: [Manifest], store: StoreRoot, seedPort: UInt16, keys: [String],
        macs: [(mac: String, toplevel: String)] = []
    ) {
        self.seedPort = seedPort
        self.keys = keys
        self.macs = macs.map { ($0.mac.lowercased(), $0.toplevel) }
        for (i, manifest) in manifests.sorted(by: { $0.createdAt < $1.createdAt }).enumerated() {
            for toplevel in manifest.toplevels {
                let base = store.realPath(toplevel)
                guard let kernel = Self.resolve(base + "/kernel", in: store),
                    let initrd = Self.resolve(base + "/initrd", in: store)
                else { continue }
                let params = (try? FileIO.read(base + "/kernel-params", limit: 16 << 10)).map {
                    String(decoding: $0, as: UTF8.self).trimmingCharacters
                }
                let hashPart = String(toplevel.hashPart)
                bootables[hashPart] = Bootable(
                    entry: BootMenu.Entry(
                        generation: i + 1, label: manifest.label, createdAt: manifest.createdAt,
                        toplevel: toplevel.fullPath, hashPart: hashPart, kernelParams: params ?? ""),
                    kernel: kernel, initrd: initrd)
            }
        }
    }

    /// The answer for a boot URL, or nil when `path` is not one.
    public func respond(path: Substring, host: String?) -> HTTPResponse? {
        if path == "/boot.ipxe" || path == "/pxelinux.cfg/default" || path.hasPrefix("/pxelinux.cfg/01-") {
            guard let host, let ip = Self.hostIP(host) else { return .text(400, "a Host header is needed\n") }
            let menu = BootMenu(
                entries: bootables.values.map(\.entry), httpBase: "http://\(host)",
                seedAddress: ip.contains(":") ? "[\(ip)]:\(seedPort)" : "\(ip):\(seedPort)", keys: keys)
            if path == "/boot.ipxe" { return .text(200, menu.ipxe(macs: macs)) }
            if path == "/pxelinux.cfg/default" { return .text(200, menu.pxelinux()) }
            guard let chosen = macs.first(where: { BootMenu.pxelinuxName(mac: $0.mac) == path.dropFirst(14) }) else {
                return .notFound
            }
            return .text(200, menu.pxelinux(defaultToplevel: chosen.toplevel))
        }
        guard path.hasPrefix("/boot/") else { return nil }
        let parts = path.dropFirst(6).split(separator: "/")
        guard parts.count == 2, let b = bootables[String(parts[0])], parts[1] == "kernel" || parts[1] == "initrd" else {
            return .notFound
        }
        let file = parts[1] == "kernel" ? b.kernel : b.initrd
        var st = stat()
        guard stat(file, &st) == 0 else { return .notFound }
        return HTTPResponse(
            status: 200, headers: [("Content-Type", "application/octet-stream")],
            body: .stream(size: UInt64(st.st_size)) { range, buffer in
                try FileIO.read(file, at: range.lowerBound, into: buffer)
            },
            acceptsRanges: true)
    }

    /// Follows symbolic links (absolute ones point into /nix/store, which is `store`'s), at most
    /// 16; the real path of a regular file inside the store, or nil.
    static func resolve(_ path: String, in store: StoreRoot) -> String? {
        var current = path
        for _ in 0..<16 {
            var st = stat()
            guard lstat(current, &st) == 0 else { return nil }
            if (st.st_mode & S_IFMT) == S_IFREG { return current.hasPrefix(store.storeDirectory + "/") ? current : nil }
            guard (st.st_mode & S_IFMT) == S_IFLNK else { return nil }
            var buffer = [CChar](repeating: 0, count: 4096)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n > 0 else { return nil }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix(StorePath.storeDirectory + "/") {
                current = store.storeDirectory + target.dropFirst(StorePath.storeDirectory.count)
            } else if target.hasPrefix("/") {
                return nil  // outside the store
            } else {
                current = String(current[..<(current.lastIndex(of: "/") ?? current.startIndex)]) + "/" + target
            }
        }
        return nil
    }

    /// "10.0.0.1:7080" → "10.0.0.1"; "[fd00::1]:7080" → "fd00::1"; nil when not an IP literal.
    static func hostIP(_ host: String) -> String? {
        var h = Substring(host)
        if h.hasPrefix("[") {
            guard let close = h.firstIndex(of: "]") else { return nil }
            h = h[h.index(after: h.startIndex)..<close]
        } else if let colon = h.lastIndex(of: ":") {
            h = h[..<colon]
        }
        return PeerAddress(host: String(h), port: 1) != nil ? String(h) : nil
    }

}

extension String {
    fileprivate var trimmingCharacters: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
