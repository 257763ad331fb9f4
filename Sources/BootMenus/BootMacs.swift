// `STATE/boot-macs`: which system each machine boots by default, one "MAC TOPLEVEL" per line
// (`#` comments), as the NixOS seed module writes it from `services.rookery.seed.macs`. A line
// that is not one is reported and ignored: a mistyped MAC never matches a machine, and before,
// it did so in silence.
import NixFormats

public enum BootMacs {
    /// The entries of `text`; `ignored` gets a line for each bad one.
    public static func parse(_ text: String, ignored: (String) -> Void = { _ in }) -> [(mac: String, toplevel: String)]
    {
        var entries: [(mac: String, toplevel: String)] = []
        // By Character: "\r\n" is one, and a split at "\n" alone kept it inside the line.
        for (n, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = words.first, !first.hasPrefix("#") else { continue }
            guard words.count == 2 else {
                ignored("line \(n + 1): expected MAC TOPLEVEL, got \(words.count) words")
                continue
            }
            guard isMAC(words[0]) else {
                ignored("line \(n + 1): \(words[0]) is not a MAC address (six hex pairs with colons)")
                continue
            }
            guard (try? StorePath(String(words[1]))) != nil else {
                ignored("line \(n + 1): \(words[1]) is not a store path")
                continue
            }
            entries.append((String(words[0]), String(words[1])))
        }
        return entries
    }

    /// `52:54:00:ab:00:01`, as iPXE's `${net0/mac}` spells it (in either case). ASCII only:
    /// Character's `isHexDigit` takes fullwidth `５` too, and such a MAC matched no machine.
    static func isMAC(_ word: Substring) -> Bool {
        let pairs = word.split(separator: ":", omittingEmptySubsequences: false)
        return pairs.count == 6
            && pairs.allSatisfy { $0.utf8.count == 2 && $0.allSatisfy { $0.isASCII && $0.isHexDigit } }
    }
}
