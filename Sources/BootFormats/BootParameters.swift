// The agent's automatic mode: everything from the kernel command line (and an optional file in
// the initrd), turned into the agent's own arguments. Pure: the caller reads the files.
//
//   rookery.seed=IP:PORT            the seed (required; an IP literal: no DNS in the initrd)
//   rookery.key=NAME:BASE64         a trusted key (required, repeatable)
//   init=/nix/store/…-nixos-system-…/init   NixOS's stage-2 init: the toplevel is its folder
//   rookery.toplevel=/nix/store/…   the toplevel, when init= is not the system's
//   rookery.root=DIR                the target root (default /mnt-root, NixOS stage 1's)
//   rookery.listen=IP:PORT          serve peers while fetching (default 0.0.0.0:7021)
//   rookery.linger=SECONDS          keep serving after finishing (default 0)
//   rookery.upload-mbit=R           upload cap to peers
//   rookery.retries=N               attempts when the seed cannot be reached (default 6)
//
// The file holds the same `key=value` words (whitespace or newlines between; `#` starts a
// comment line); the command line wins over it for single values, keys from both count.
import NixFormats

public struct BootParameters: Equatable, Sendable {
    public var arguments: [String]
    public var attempts: Int

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case missing(String)
        case invalid(String, String)

        public var description: String {
            switch self {
            case .missing(let what): "the kernel command line has no \(what)"
            case .invalid(let key, let value): "bad kernel parameter \(key)=\(value)"
            }
        }
    }

    /// The kernel parameter behind each option of `arguments` (the toplevel aside), to name it
    /// in the kernel's words when its value is refused.
    public static let kernelNames = [
        "--seed": "rookery.seed", "--trusted-key": "rookery.key", "--root": "rookery.root",
        "--listen": "rookery.listen", "--linger": "rookery.linger", "--upload-mbit": "rookery.upload-mbit",
    ]

    public static let defaultRoot = "/mnt-root"
    public static let defaultListen = "0.0.0.0:7021"
    public static let defaultAttempts = 6

    /// Parses `commandLine` (as /proc/cmdline) and `file` (the initrd's configuration, if any).
    public static func parse(commandLine: String, file: String? = nil) throws(Failure) -> BootParameters {
        var single: [String: String] = [:]
        var keys: [String] = []
        let fileLines = (file ?? "").unicodeScalars.split { $0 == "\n" || $0 == "\r" }
        let fileWords = fileLines.filter { $0.first != "#" }.flatMap { words(String($0)) }
        for word in fileWords + words(commandLine) {
            let scalars = word.unicodeScalars
            guard let eq = scalars.firstIndex(of: "=") else { continue }
            let key = String(scalars[..<eq])
            let value = String(scalars[scalars.index(after: eq)...])
            if key == "rookery.key" {
                if !keys.contains(value) { keys.append(value) }
            } else if key == "init" || key.hasPrefix("rookery.") {
                single[key] = value
            }
        }
        guard let seed = single["rookery.seed"], !seed.isEmpty else { throw .missing("rookery.seed=IP:PORT") }
        guard !keys.isEmpty else { throw .missing("rookery.key=NAME:BASE64") }
        let toplevel: String
        if let explicit = single["rookery.toplevel"] {
            toplevel = explicit
        } else if let initPath = single["init"], initPath.hasSuffix("/init") {
            toplevel = String(initPath.dropLast("/init".count))
        } else {
            throw .missing("init=/nix/store/…/init or rookery.toplevel=/nix/store/…")
        }
        guard (try? StorePath(toplevel)) != nil else {
            throw .invalid(single["rookery.toplevel"] == nil ? "init" : "rookery.toplevel", toplevel)
        }
        var arguments = ["--seed", seed]
        for key in keys { arguments += ["--trusted-key", key] }
        arguments += ["--root", single["rookery.root"] ?? defaultRoot]
        arguments += ["--listen", single["rookery.listen"] ?? defaultListen]
        if let linger = single["rookery.linger"] { arguments += ["--linger", linger] }
        if let upload = single["rookery.upload-mbit"] { arguments += ["--upload-mbit", upload] }
        var attempts = defaultAttempts
        if let text = single["rookery.retries"] {
            guard let n = Int(text), (1...100).contains(n) else { throw .invalid("rookery.retries", text) }
            attempts = n
        }
        return BootParameters(arguments: arguments + [toplevel], attempts: attempts)
    }

    /// Splits like the kernel does: white space (C's isspace: space, \t, \n, \v, \f, \r)
    /// separates words, double quotes group it. By scalar, not Character: "\r\n" is one
    /// Character, equal to neither, and a file with CRLF lines was one long word.
    static func words(_ text: String) -> [String] {
        var out: [String] = []
        var current = String.UnicodeScalarView()
        var quoted = false
        var any = false
        for c in text.unicodeScalars {
            if c == "\"" {
                quoted.toggle()
                any = true
            } else if !quoted && (c == " " || ("\t"..."\r").contains(c)) {
                if any { out.append(String(current)) }
                current = String.UnicodeScalarView()
                any = false
            } else {
                current.append(c)
                any = true
            }
        }
        if any { out.append(String(current)) }
        return out
    }

    /// Failures worth another attempt: the seed was not there (yet), or went away. A refused
    /// manifest or a full disk fails the same way every time.
    public static func isRetryable(_ line: String) -> Bool {
        ["cannot reach the seed", "the seed closed the connection", "timed out"].contains { contains(line, $0) }
    }

    /// Substring search on bytes: String's own `contains(_:)` links the regex engine into the
    /// static agent (1.3 MiB).
    static func contains(_ text: String, _ part: String) -> Bool {
        let t = Array(text.utf8)
        let p = Array(part.utf8)
        guard p.count <= t.count else { return false }
        return (0...(t.count - p.count)).contains { i in t[i..<(i + p.count)].elementsEqual(p) }
    }

    /// Seconds to wait before attempt `n` (1-based; the first attempt waits 0): 1, 2, 4, … ≤ 30.
    public static func backoff(beforeAttempt n: Int) -> UInt32 {
        n <= 1 ? 0 : UInt32(min(30, 1 << min(n - 2, 5)))
    }
}
