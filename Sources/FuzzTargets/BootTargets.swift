// Fuzz targets for the boot formats: the kernel command line the agent reads in the initrd, the
// disk layout declaration (and the disk bytes it is compared with), raven's boot-macs file.
import BootFormats
import BootMenus
import NixFormats

extension FuzzTarget {
    /// Input: the command line, then optionally a NUL and the initrd's file. Accepted parameters
    /// give the agent's arguments in their fixed shape, and written back as a command line of
    /// quoted words they parse to themselves.
    public static let bootParameters = FuzzTarget(name: "boot-parameters", seeds: BootSeeds.commandLines) { input in
        let parts = input.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        guard
            let p = try? BootParameters.parse(
                commandLine: String(decoding: parts[0], as: UTF8.self),
                file: parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : nil)
        else { return false }
        let a = p.arguments
        precondition(
            a.first == "--seed" && a.count >= 9 && a.filter { $0 == "--root" }.count == 1
                && a.filter { $0 == "--listen" }.count == 1 && a.contains("--trusted-key")
                && (try? StorePath(a.last!)) != nil && (1...100).contains(p.attempts),
            "boot parameters give arguments out of shape")
        precondition(
            (try? BootParameters.parse(commandLine: BootSeeds.commandLine(of: p))) == p,
            "boot parameters do not survive being written back as a command line")
        return true
    }

    /// Input: the declaration, then optionally a NUL and bytes standing for a disk's first sector
    /// and its partitions' superblocks. An accepted layout placed on disks of any size fits in
    /// its MBR exactly, and a disk carrying that MBR and the labels is recognised as laid out;
    /// the comparison with arbitrary disk bytes never traps.
    public static let diskLayout = FuzzTarget(name: "disk-layout", seeds: BootSeeds.layouts) { input in
        let parts = input.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        guard let layout = try? DiskLayout.parse(String(decoding: parts[0], as: UTF8.self)) else { return false }
        precondition((1...4).contains(layout.partitions.count), "a layout of \(layout.partitions.count) partitions")
        for disk in BootSeeds.diskSizes {
            guard let placed = try? layout.place(diskBytes: disk) else { continue }
            let mbr = DiskLayout.mbr(placed)
            var end: UInt64 = 2048
            for (i, p) in placed.enumerated() {
                precondition(
                    p.startSector == end && p.startSector + p.sectors <= disk / 512, "a partition off its place")
                precondition(LayoutProbe.entry(mbr, i) == (p.startSector, p.sectors), "an MBR entry off its partition")
                end = p.startSector + p.sectors
            }
            let superblocks = placed.map { LayoutProbe.superblock($0.partition.label) }
            precondition(
                DiskLayout.matches(placed, firstSector: mbr, superblocks: superblocks), "a laid-out disk not recognised"
            )
            if parts.count > 1 {
                let bytes = Array(parts[1])
                let first = Array(bytes.prefix(512))
                let rest = bytes.dropFirst(512)
                let found = stride(from: rest.startIndex, to: rest.endIndex, by: 1024).map {
                    Array(rest[$0..<min($0 + 1024, rest.endIndex)])
                }
                _ = DiskLayout.matches(placed, firstSector: first, superblocks: found)
            }
        }
        return true
    }

    /// Good lines are entries, every other line that is not a comment is reported, an entry's MAC
    /// is one a machine can have; the entries written back as lines parse to themselves with
    /// nothing reported.
    public static let bootMacs = FuzzTarget(name: "boot-macs", seeds: BootSeeds.macs) { input in
        let text = String(decoding: input, as: UTF8.self)
        var ignored = 0
        let entries = BootMacs.parse(text) { _ in ignored += 1 }
        let lines = text.split(whereSeparator: \.isNewline).filter {
            guard let first = $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).first else { return false }
            return !first.hasPrefix("#")
        }
        precondition(entries.count + ignored == lines.count, "a boot-macs line neither taken nor reported")
        // As iPXE spells one: six pairs of ASCII hex digits.
        precondition(entries.allSatisfy { $0.mac.utf8.count == 17 }, "a MAC that no machine has")
        var again = 0
        let written = entries.map { "\($0.mac) \($0.toplevel)\n" }.joined()
        let reparsed = BootMacs.parse(written) { _ in again += 1 }
        precondition(
            again == 0 && reparsed.map(\.mac) == entries.map(\.mac)
                && reparsed.map(\.toplevel) == entries.map(\.toplevel),
            "boot-macs entries do not survive being written back")
        return !entries.isEmpty
    }
}

/// A disk as `rookery-agent layout` finds it: what mke2fs leaves in a superblock, and the MBR's
/// entries as the kernel reads them (shared with the layout's tests).
public enum LayoutProbe {
    /// An ext superblock (bytes 1024… of a partition) as mke2fs writes it: magic and label.
    public static func superblock(_ label: String) -> [UInt8] {
        var sb = [UInt8](repeating: 0, count: 1024)
        sb[56] = 0x53
        sb[57] = 0xEF
        for (i, b) in label.utf8.prefix(16).enumerated() { sb[120 + i] = b }
        return sb
    }

    /// Partition entry `i` of an MBR: start and count, 32-bit little-endian.
    public static func entry(_ mbr: [UInt8], _ i: Int) -> (start: UInt64, sectors: UInt64) {
        func le32(_ at: Int) -> UInt64 { (0..<4).reduce(0) { $0 | UInt64(mbr[at + $1]) << (8 * UInt64($1)) } }
        return (le32(446 + 16 * i + 8), le32(446 + 16 * i + 12))
    }
}

enum BootSeeds {
    static let key = "raven-1:ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="
    static let top = "/nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-nixos-system-lab-24.05"

    static let commandLines = [
        "BOOT_IMAGE=x init=\(top)/init rookery.seed=10.0.0.1:7020 rookery.key=\(key) rookery.retries=3",
        "rookery.seed=[fd00::1]:7020 rookery.toplevel=\(top) rookery.root=\"/mnt root\" rookery.linger=5\0"
            + "# raven\nrookery.key=\(key)\nrookery.key=other:AAAA rookery.upload-mbit=100\n",
    ].map { Array($0.utf8) }

    /// `p` as a command line of quoted words (a value holds no `"`: the kernel's splitting drops them).
    static func commandLine(of p: BootParameters) -> String {
        var words: [String] = []
        var a = p.arguments[...]
        let toplevel = a.popLast()!
        while let option = a.popFirst(), let value = a.popFirst() {
            words.append("\(BootParameters.kernelNames[option]!)=\(value)")
        }
        words += ["rookery.toplevel=\(toplevel)", "rookery.retries=\(p.attempts)"]
        return words.map { "\"\($0)\"" }.joined(separator: " ")
    }

    static let layouts = [
        "# lab\ndisk /dev/vda\npartition boot ext2 64\npartition nixos ext4 rest\n",
        "disk /dev/nvme0n1\npartition boot ext2 512\npartition swap ext2 4096\npartition nixos ext4 rest\n",
        "disk /dev/sda\npartition a ext4 2097151\npartition b ext3 2097151\npartition c ext2 1\npartition d ext4 rest\n",
    ].map { Array($0.utf8) }

    static let diskSizes: [UInt64] = [
        0, 1 << 20, 200 << 20, 1 << 30, (2 << 40) - 1, 2 << 40, 5 << 40, 9 << 40, UInt64.max >> 1,
    ]

    static let macs = [
        "# lab\n52:54:00:AA:00:01 \(top)\r\n\n52:54:00:00:02\t\(top)\n52:54:00:00:00:03\t\(top)\n"
            + "52:54:00:00:00:04 /sbin/init\n52:54:00:00:00:05\n"
    ].map { Array($0.utf8) }
}
