// The menus raven hands out, and the boot-macs file that picks each machine's default.
import Foundation
import Testing

@testable import BootMenus

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
            + "52:54:00:00:00:04 /sbin/init\n52:54:00:00:00:05\n５２:54:00:00:00:06 \(top)\n"
        var ignored: [String] = []
        let entries = BootMacs.parse(text) { ignored.append($0) }
        #expect(entries.map(\.mac) == ["52:54:00:AA:00:01", "52:54:00:00:00:03"])
        #expect(entries.allSatisfy { $0.toplevel == top })
        #expect(
            ignored == [
                "line 4: 52:54:00:00:02 is not a MAC address (six hex pairs with colons)",
                "line 6: /sbin/init is not a store path", "line 7: expected MAC TOPLEVEL, got 1 words",
                "line 8: ５２:54:00:00:00:06 is not a MAC address (six hex pairs with colons)",
            ])
    }
}
