// The boot menus raven hands out, newest generation first: an iPXE script (`/boot.ipxe`) and a
// pxelinux configuration (`/pxelinux.cfg/default`, for lpxelinux.0, which fetches over HTTP), and
// per-MAC variants whose default is the system chosen for that machine. Pure text generation;
// the kernel command line carries what the agent's automatic mode reads (rookery.seed,
// rookery.key, init=).
import NixFormats

public struct BootMenu: Sendable {
    public struct Entry: Sendable, Equatable {
        /// 1 for the oldest published generation.
        public var generation: Int
        public var label: String
        /// Unix seconds of the publish.
        public var createdAt: UInt64
        /// The system's toplevel store path, and its hash part (names its URLs).
        public var toplevel: String
        public var hashPart: String
        /// The toplevel's `kernel-params` file (console=, loglevel=, …).
        public var kernelParams: String

        public init(
            generation: Int, label: String, createdAt: UInt64, toplevel: String, hashPart: String, kernelParams: String
        ) {
            self.generation = generation
            self.label = label
            self.createdAt = createdAt
            self.toplevel = toplevel
            self.hashPart = hashPart
            self.kernelParams = kernelParams
        }

        var name: String { "gen\(generation)" }

        /// One line: a control character in a label (signed before `rookery publish` refused them)
        /// would end the menu item and start a command of its own in the script.
        var title: String {
            let line = label.controlBytesAsSpaces
            return "generation \(generation)" + (line.isEmpty ? "" : ": \(line)") + " (\(BootMenu.date(createdAt)))"
        }
    }

    /// Newest first.
    public let entries: [Entry]
    /// `http://HOST:PORT` as the client reached raven.
    public let httpBase: String
    /// The chunk protocol's address for the agent, IP:PORT.
    public let seedAddress: String
    /// Trusted public keys, `name:base64`.
    public let keys: [String]
    /// Menu timeout in seconds (0: boot the default at once).
    public var timeoutSeconds = 3

    public init(entries: [Entry], httpBase: String, seedAddress: String, keys: [String]) {
        self.entries = entries.sorted { ($0.generation, $0.createdAt) > ($1.generation, $1.createdAt) }
        self.httpBase = httpBase
        self.seedAddress = seedAddress
        self.keys = keys
    }

    public func kernelURL(_ e: Entry) -> String { "\(httpBase)/boot/\(e.hashPart)/kernel" }
    public func initrdURL(_ e: Entry) -> String { "\(httpBase)/boot/\(e.hashPart)/initrd" }

    /// The kernel command line of an entry.
    public func commandLine(_ e: Entry) -> String {
        ([e.kernelParams.split(whereSeparator: { $0 == "\n" }).joined(separator: " ")]
            + ["init=\(e.toplevel)/init", "rookery.seed=\(seedAddress)"] + keys.map { "rookery.key=\($0)" })
            .filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// The iPXE script; `defaultToplevel` picks the default entry (a per-MAC choice).
    public func ipxe(defaultToplevel: String? = nil, macs: [(mac: String, toplevel: String)] = []) -> String {
        guard let newest = entries.first else {
            return "#!ipxe\necho rookery: no bootable generation is published\nshell\n"
        }
        let fallback = entries.first { $0.toplevel == defaultToplevel } ?? newest
        var out = "#!ipxe\n# rookery: newest generation first\n"
        for (mac, toplevel) in macs {
            if let e = entries.first(where: { $0.toplevel == toplevel }) {
                out += "iseq ${net0/mac} \(mac) && goto \(e.name) ||\n"
            }
        }
        if timeoutSeconds > 0 {
            out += "menu rookery lab || goto \(fallback.name)\n"
            for e in entries { out += "item \(e.name) \(e.title)\n" }
            out += "choose --default \(fallback.name) --timeout \(timeoutSeconds * 1000) target && goto ${target} ||\n"
        }
        out += "goto \(fallback.name)\n"
        for e in entries {
            out += ":\(e.name)\n"
            out += "kernel \(kernelURL(e)) \(commandLine(e))\n"
            out += "initrd \(initrdURL(e))\n"
            out += "boot\n"
        }
        return out
    }

    /// pxelinux.cfg for lpxelinux.0; `defaultToplevel` as for `ipxe`.
    public func pxelinux(defaultToplevel: String? = nil) -> String {
        guard let newest = entries.first else { return "SAY rookery: no bootable generation is published\n" }
        let fallback = entries.first { $0.toplevel == defaultToplevel } ?? newest
        var out = "# rookery: newest generation first\nDEFAULT \(fallback.name)\n"
        out += timeoutSeconds > 0 ? "PROMPT 1\nTIMEOUT \(timeoutSeconds * 10)\n" : "PROMPT 0\nTIMEOUT 0\n"
        for e in entries {
            out += "LABEL \(e.name)\n  MENU LABEL \(e.title)\n  KERNEL \(kernelURL(e))\n  INITRD \(initrdURL(e))\n"
            out += "  APPEND \(commandLine(e))\n"
        }
        return out
    }

    /// pxelinux's per-MAC file name for `mac` ("52:54:00:00:00:02" → "01-52-54-00-00-00-02").
    public static func pxelinuxName(mac: String) -> String { "01-" + mac.lowercased().replacingColons }

    /// "YYYY-MM-DD HH:MM UTC" without Foundation (civil-from-days, H. Hinnant).
    static func date(_ seconds: UInt64) -> String {
        let days = Int64(seconds / 86_400)
        let rest = Int64(seconds % 86_400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(two(m))-\(two(d)) \(two(rest / 3600)):\(two(rest / 60 % 60)) UTC"
    }
}

extension String {
    fileprivate var replacingColons: String { String(map { $0 == ":" ? "-" : $0 }) }
}
