// The boot path's pure parts: the agent's kernel parameters and raven's generated menus.
import FuzzTargets
import NixFormats
import Services
import Testing

@testable import Faces

@Suite struct BootParametersTests {
    let key = "raven-1:ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="
    let top = "/nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-nixos-system-lab-24.05"

    @Test func aNixOSCommandLineBecomesTheAgentsArguments() throws {
        let line =
            "BOOT_IMAGE=x init=\(top)/init console=ttyS0 rookery.seed=10.0.0.1:7020 rookery.key=\(key) loglevel=4\n"
        let p = try BootParameters.parse(commandLine: line)
        #expect(
            p.arguments == [
                "--seed", "10.0.0.1:7020", "--trusted-key", key, "--root", "/mnt-root", "--listen", "0.0.0.0:7021", top,
            ])
        #expect(p.attempts == BootParameters.defaultAttempts)
    }

    @Test func theFileFillsInAndTheCommandLineWins() throws {
        let file = "# raven\nrookery.seed=10.0.0.9:7020\nrookery.key=\(key)\nrookery.retries=2 rookery.linger=5\n"
        let p = try BootParameters.parse(
            commandLine:
                "rookery.seed=10.0.0.1:7020 rookery.key=other:AAAA rookery.toplevel=\(top) rookery.root=\"/mnt root\"",
            file: file)
        #expect(p.arguments.prefix(2) == ["--seed", "10.0.0.1:7020"])
        #expect(p.arguments.filter { $0 == "--trusted-key" }.count == 2)
        #expect(p.arguments.contains("/mnt root"))
        #expect(p.arguments.contains("--linger"))
        #expect(p.arguments.last == top)
        #expect(p.attempts == 2)
    }

    @Test func whatIsMissingOrWrongIsNamed() {
        #expect(throws: BootParameters.Failure.missing("rookery.seed=IP:PORT")) {
            try BootParameters.parse(commandLine: "init=\(top)/init rookery.key=\(key)")
        }
        #expect(throws: BootParameters.Failure.missing("rookery.key=NAME:BASE64")) {
            try BootParameters.parse(commandLine: "init=\(top)/init rookery.seed=1.2.3.4:5")
        }
        #expect(throws: BootParameters.Failure.invalid("init", "/sbin")) {
            try BootParameters.parse(commandLine: "init=/sbin/init rookery.seed=1.2.3.4:5 rookery.key=\(key)")
        }
        #expect(throws: BootParameters.Failure.invalid("rookery.retries", "0")) {
            try BootParameters.parse(
                commandLine: "init=\(top)/init rookery.seed=1.2.3.4:5 rookery.key=\(key) rookery.retries=0")
        }
    }

    /// Command lines and files mutated at random (seeded, bounded; a NUL splits the input into
    /// the two): refused or accepted, never a trap; accepted ones give the agent's arguments in
    /// their fixed shape.
    @Test func mutatedCommandLinesGiveWellFormedArguments() {
        let seeds = [
            "BOOT_IMAGE=x init=\(top)/init rookery.seed=10.0.0.1:7020 rookery.key=\(key) rookery.retries=3",
            "rookery.seed=[fd00::1]:7020 rookery.toplevel=\(top) rookery.root=\"/mnt root\" rookery.linger=5\0"
                + "# raven\nrookery.key=\(key)\nrookery.key=other:AAAA rookery.upload-mbit=100\n",
        ].map { Array($0.utf8) }
        var mutator = Mutator(seed: 0x626f_6f74)
        var accepted = 0
        for round in 0..<10_000 {
            let input = mutator.mutate(seeds[round % seeds.count])
            let parts = input.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
            guard
                let p = try? BootParameters.parse(
                    commandLine: String(decoding: parts[0], as: UTF8.self),
                    file: parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : nil)
            else { continue }
            accepted += 1
            let a = p.arguments
            let shaped =
                a.first == "--seed" && a.count >= 9 && a.filter { $0 == "--root" }.count == 1
                && a.filter { $0 == "--listen" }.count == 1 && a.contains("--trusted-key")
                && (try? StorePath(a.last!)) != nil && (1...100).contains(p.attempts)
            #expect(shaped, "\(a) from \(parts.map { String(decoding: $0, as: UTF8.self) })")
        }
        #expect(accepted > 1_000)
    }

    @Test func retriesBackOffAndOnlyForAnAbsentSeed() {
        #expect((1...8).map { BootParameters.backoff(beforeAttempt: $0) } == [0, 1, 2, 4, 8, 16, 30, 30])
        #expect(BootParameters.isRetryable("cannot reach the seed at 10.0.0.1:7020: connection refused"))
        #expect(!BootParameters.isRetryable("manifest refused: no trusted signature"))
    }
}

@Suite struct BootMenuTests {
    static let old = BootMenu.Entry(
        generation: 1, label: "", createdAt: 0, toplevel: "/nix/store/aaaa-sys1", hashPart: "aaaa",
        kernelParams: "console=ttyS0\n")
    static let new = BootMenu.Entry(
        generation: 2, label: "lab", createdAt: 1_795_822_498, toplevel: "/nix/store/bbbb-sys2", hashPart: "bbbb",
        kernelParams: "loglevel=4")

    @Test func iPXEListsNewestFirstAndBootsItByDefault() {
        let menu = BootMenu(
            entries: [Self.old, Self.new], httpBase: "http://10.0.0.1:7080", seedAddress: "10.0.0.1:7020",
            keys: ["raven-1:KEY"])
        let text = menu.ipxe(macs: [("52:54:00:00:00:02", "/nix/store/aaaa-sys1")])
        #expect(text.hasPrefix("#!ipxe\n"))
        #expect(text.contains("iseq ${net0/mac} 52:54:00:00:00:02 && goto gen1 ||\n"))
        #expect(
            text.contains(
                "item gen2 generation 2: lab (2026-11-27 23:34 UTC)\nitem gen1 generation 1 (1970-01-01 00:00 UTC)\n"))
        #expect(text.contains("choose --default gen2 --timeout 3000 target && goto ${target} ||\ngoto gen2\n"))
        #expect(
            text.contains(
                ":gen2\nkernel http://10.0.0.1:7080/boot/bbbb/kernel loglevel=4 init=/nix/store/bbbb-sys2/init "
                    + "rookery.seed=10.0.0.1:7020 rookery.key=raven-1:KEY\ninitrd http://10.0.0.1:7080/boot/bbbb/initrd\nboot\n"
            ))
        #expect(text.range(of: ":gen2")!.lowerBound < text.range(of: ":gen1")!.lowerBound)
    }

    @Test func pxelinuxPerMACDefaultsToTheChosenSystem() {
        var menu = BootMenu(entries: [Self.old, Self.new], httpBase: "http://h", seedAddress: "1.2.3.4:5", keys: [])
        menu.timeoutSeconds = 0
        let text = menu.pxelinux(defaultToplevel: "/nix/store/aaaa-sys1")
        #expect(text.contains("DEFAULT gen1\nPROMPT 0\nTIMEOUT 0\n"))
        #expect(
            text.contains(
                "LABEL gen1\n  MENU LABEL generation 1 (1970-01-01 00:00 UTC)\n  KERNEL http://h/boot/aaaa/kernel\n"))
        #expect(text.contains("  APPEND console=ttyS0 init=/nix/store/aaaa-sys1/init rookery.seed=1.2.3.4:5\n"))
        #expect(BootMenu.pxelinuxName(mac: "52:54:00:AB:00:02") == "01-52-54-00-ab-00-02")
        #expect(
            BootMenu(entries: [], httpBase: "", seedAddress: "", keys: []).ipxe().contains("no bootable generation"))
    }

    /// A label is one menu line: a newline in it would have ended the item and made the rest a
    /// command of the script (here iPXE's `shell`).
    @Test func aLabelStaysOnItsMenuLine() {
        var entry = Self.new
        entry.label = "lab\nshell\r\t"
        let menu = BootMenu(entries: [entry], httpBase: "http://h", seedAddress: "1.2.3.4:5", keys: [])
        #expect(menu.ipxe().contains("item gen2 generation 2: lab shell   (2026-11-27 23:34 UTC)\n"))
        #expect(!menu.ipxe().contains("\nshell"))
        #expect(menu.pxelinux().contains("  MENU LABEL generation 2: lab shell   (2026-11-27 23:34 UTC)\n"))
    }

    /// STATE/boot-macs: good lines (CRLF and tabs too) are entries; a bad one is named and
    /// ignored, where before a mistyped MAC matched no machine in silence.
    @Test func bootMacsNamesTheLinesItIgnores() {
        let top = "/nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-nixos-system-kiosk"
        let text =
            "# lab\n52:54:00:AA:00:01 \(top)\r\n\n52:54:00:00:02\t\(top)\n52:54:00:00:00:03\t\(top)\n"
            + "52:54:00:00:00:04 /sbin/init\n52:54:00:00:00:05\n"
        var ignored: [String] = []
        let entries = BootMacs.parse(text) { ignored.append($0) }
        #expect(entries.map(\.mac) == ["52:54:00:AA:00:01", "52:54:00:00:00:03"])
        #expect(entries.allSatisfy { $0.toplevel == top })
        #expect(
            ignored == [
                "line 4: 52:54:00:00:02 is not a MAC address (six hex pairs with colons)",
                "line 6: /sbin/init is not a store path", "line 7: expected MAC TOPLEVEL, got 1 words",
            ])
    }

    @Test func hostsAreIPLiteralsOnly() {
        #expect(BootFace.hostIP("10.0.0.1:7080") == "10.0.0.1")
        #expect(BootFace.hostIP("[fd00::1]:7080") == "fd00::1")
        #expect(BootFace.hostIP("raven:7080") == nil)
    }
}
