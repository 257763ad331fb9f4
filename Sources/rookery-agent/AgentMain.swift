// rookery-agent: the initrd binary. Glibc only (no Foundation, no argument parser), so it links
// fully static. Fetches a closure from the seed into a target root and writes its registration;
// on failure prints one line and exits non-zero, so the initrd can drop to its shell.
//
//   rookery-agent --seed IP:PORT --trusted-key NAME:BASE64 [--trusted-key …] --root DIR
//                 [--listen IP:PORT] [--linger SECONDS] [--upload-mbit N] TOPLEVEL
//   rookery-agent layout [--layout FILE] [--disk DEVICE] [--mkfs PATH]
//                 check-and-create the declared disk layout (default /etc/rookery-layout)
//   rookery-agent [--auto] [--cmdline FILE] [--config FILE]
//                 automatic mode (the initrd): everything from /proc/cmdline and, if present,
//                 /etc/rookery-agent.conf (see BootFormats/BootParameters.swift and the README)
import BootFormats
import Glibc
import NixFormats
import Runtime
import Services
import Store
import Swarm

@main
struct AgentMain {
    static func main() {
        AllocatorTuning.forChunkTraffic()
        let args = Array(CommandLine.arguments.dropFirst())
        if args.first == "layout" { layout(Array(args.dropFirst())) }
        if args.isEmpty || args[0] == "--auto" || args[0] == "--cmdline" || args[0] == "--config" {
            automatic(args)
        }
        switch AgentArguments.parse(args) {
        case .failure(let error):
            fail(
                "usage: \(error.message)\n  rookery-agent --seed IP:PORT --trusted-key NAME:BASE64 --root DIR TOPLEVEL",
                code: 2)
        case .success(let configuration):
            do {
                switch try FetchRunner.run(configuration) {
                case .finished(let r):
                    print("rookery-agent: \(r.summary); registration in \(configuration.registrationPath)")
                    exit(0)
                case .failed(let line):
                    fail(line, code: 1)
                }
            } catch {
                fail("\(error)", code: 1)
            }
        }
    }

    /// Automatic mode: parameters from the kernel command line, lo up, attempts with backoff
    /// while the seed cannot be reached; one line and a non-zero exit on failure.
    static func automatic(_ args: [String]) -> Never {
        var cmdlinePath = "/proc/cmdline"
        var configPath = "/etc/rookery-agent.conf"
        var i = 0
        while i < args.count {
            switch args[i] {
            case "--auto": break
            case "--cmdline" where i + 1 < args.count:
                i += 1
                cmdlinePath = args[i]
            case "--config" where i + 1 < args.count:
                i += 1
                configPath = args[i]
            default: fail("usage: rookery-agent [--auto] [--cmdline FILE] [--config FILE]", code: 2)
            }
            i += 1
        }
        let commandLine: String
        do {
            commandLine = String(decoding: try FileIO.read(cmdlinePath, limit: 64 << 10), as: UTF8.self)
        } catch {
            fail("cannot read the kernel command line: \(error)", code: 1)
        }
        let file = (try? FileIO.read(configPath, limit: 64 << 10)).map { String(decoding: $0, as: UTF8.self) }
        let parameters: BootParameters
        do {
            parameters = try BootParameters.parse(commandLine: commandLine, file: file)
        } catch {
            fail("\(error)", code: 1)
        }
        if let why = NetworkInterface.bringUp("lo") { log("cannot bring lo up: \(why)") }
        let configuration: FetchEngine.Configuration
        switch AgentArguments.parse(parameters.arguments) {
        case .failure(let error): fail(error.kernelMessage, code: 1)
        case .success(let c): configuration = c
        }
        log("fetching \(configuration.toplevel) from \(configuration.seed) into \(configuration.root.root)")
        for attempt in 1...parameters.attempts {
            sleep(BootParameters.backoff(beforeAttempt: attempt))
            let outcome: FetchEngine.Outcome
            do { outcome = try FetchRunner.run(configuration) } catch { fail("\(error)", code: 1) }
            switch outcome {
            case .finished(let r):
                print("rookery-agent: \(r.summary); registration in \(configuration.registrationPath)")
                exit(0)
            case .failed(let line):
                guard BootParameters.isRetryable(line), attempt < parameters.attempts else { fail(line, code: 1) }
                log("\(line); attempt \(attempt) of \(parameters.attempts), retrying")
            }
        }
        fail("no attempt left", code: 1)
    }

    /// `layout`: the disk carries the declared layout afterwards, or one line says why not.
    static func layout(_ args: [String]) -> Never {
        var file = "/etc/rookery-layout"
        var disk: String?
        var mkfs: String?
        var i = 0
        while i + 1 < args.count {
            switch args[i] {
            case "--layout": file = args[i + 1]
            case "--disk": disk = args[i + 1]
            case "--mkfs": mkfs = args[i + 1]
            default: fail("usage: rookery-agent layout [--layout FILE] [--disk DEVICE] [--mkfs PATH]", code: 2)
            }
            i += 2
        }
        if i != args.count {
            fail("usage: rookery-agent layout [--layout FILE] [--disk DEVICE] [--mkfs PATH]", code: 2)
        }
        do {
            var declared = try DiskLayout.parse(String(decoding: try FileIO.read(file, limit: 64 << 10), as: UTF8.self))
            if let disk { declared.disk = disk }
            let tool =
                mkfs
                ?? ["/sbin/mke2fs", "/usr/sbin/mke2fs", "/bin/mke2fs", "/usr/bin/mke2fs"].first {
                    access($0, X_OK) == 0
                }
            guard let tool else { fail("no mke2fs found (give --mkfs PATH)", code: 1) }
            switch try DiskPreparer.prepare(declared, mkfs: tool) {
            case .leftAlone:
                print("rookery-agent: \(declared.disk) already has the declared layout; left alone")
            case .created(let placed):
                let parts = placed.map {
                    "\($0.partition.label) (\($0.partition.filesystem), \($0.bytes >> 20) MiB at \($0.startByte >> 20) MiB)"
                }
                print("rookery-agent: partitioned and formatted \(declared.disk): \(parts.joined(separator: ", "))")
            }
            exit(0)
        } catch {
            fail("\(error)", code: 1)
        }
    }

    static func log(_ line: String) {
        let text = "rookery-agent: \(line)\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
    }

    static func fail(_ line: String, code: Int32) -> Never {
        let text = "rookery-agent: \(line)\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
        exit(code)
    }
}

enum AgentArguments {
    static func parse(_ args: [String]) -> Result<FetchEngine.Configuration, ArgumentError> {
        var seed: SocketAddress?
        var keys: [NixPublicKey] = []
        var root: String?
        var toplevel: StorePath?
        var listen: SocketAddress?
        var linger: UInt64 = 0
        var upload: UInt64 = 0
        var swarm = SwarmClient.Configuration()
        var hashesOnLoop = false
        var i = 0
        while i < args.count {
            let arg = args[i]
            func value() -> String? {
                i += 1
                return i < args.count ? args[i] : nil
            }
            /// `arg`'s value (taken by `value()`) is refused: it wants `what`.
            func refused(_ what: String) -> Result<FetchEngine.Configuration, ArgumentError> {
                .failure(ArgumentError(option: arg, value: i < args.count ? args[i] : nil, wants: what))
            }
            switch arg {
            case "--seed":
                guard let v = value(), let a = SocketAddress(parsing: v) else {
                    return refused("IP:PORT (an IP address: the initrd looks no names up)")
                }
                seed = a
            case "--trusted-key":
                guard let v = value(), let k = try? NixPublicKey(parsing: v) else {
                    return refused("NAME:BASE64 (a Nix public key)")
                }
                keys.append(k)
            case "--listen":
                guard let v = value(), let a = SocketAddress(parsing: v) else {
                    return refused("IP:PORT")
                }
                listen = a
            case "--linger":
                guard let v = value(), let seconds = Double(v), seconds >= 0, seconds < 86_400 else {
                    return refused("seconds")
                }
                linger = UInt64(seconds * 1000)
            case "--upload-mbit":
                guard let v = value(), let mbit = Double(v), mbit >= 0, mbit < 1_000_000 else {
                    return refused("a rate in Mbit/s")
                }
                upload = UInt64(mbit * 125_000)
            // Tuning for benchmarks (not in the usage line): bytes in flight per peer / to the seed.
            case "--peer-budget-kib", "--seed-budget-kib":
                guard let v = value(), let kib = UInt64(v), kib >= 64, kib <= 65536 else {
                    return refused("KiB in 64…65536")
                }
                if arg == "--peer-budget-kib" {
                    swarm.peerBudgetBytes = kib << 10
                } else {
                    swarm.seedBudgetBytes = kib << 10
                }
            case "--max-connections", "--max-outgoing":
                guard let v = value(), let n = Int(v), (1...64).contains(n) else {
                    return refused("a count in 1…64")
                }
                if arg == "--max-connections" { swarm.maxConnections = n } else { swarm.maxOutgoing = n }
            case "--verify-inline":
                hashesOnLoop = true
            case "--root":
                guard let v = value() else { return refused("a folder") }
                root = v
            default:
                guard !arg.hasPrefix("-"), toplevel == nil, let p = try? StorePath(arg) else {
                    return .failure(.init("unexpected argument '\(arg)'"))
                }
                toplevel = p
            }
            i += 1
        }
        guard let seed, let root, let toplevel, !keys.isEmpty else {
            return .failure(.init("--seed, --trusted-key, --root and a toplevel are required"))
        }
        var configuration = FetchEngine.Configuration(
            seed: seed, trustedKeys: keys, toplevel: toplevel, root: StoreRoot(root: root))
        configuration.listen = listen
        configuration.lingerIdleMilliseconds = linger
        configuration.uploadBytesPerSecond = upload
        configuration.swarm = swarm
        configuration.hashesOnLoop = hashesOnLoop
        return .success(configuration)
    }

    struct ArgumentError: Error {
        /// The option and its value as given (nil when the whole line is `text`), and what it wants.
        var option: String?
        var value: String?
        var text: String

        init(_ message: String) { text = message }

        init(option: String, value: String?, wants: String) {
            self.option = option
            self.value = value
            text = "wants " + wants
        }

        var message: String { option.map { "\($0) \(text)" } ?? text }

        /// In the kernel's words, for automatic mode: `bad kernel parameter rookery.seed=raven:7020:
        /// wants IP:PORT (…)`, not the option the parameter became.
        var kernelMessage: String {
            guard let option, let name = BootParameters.kernelNames[option] else {
                return "kernel parameters: \(message)"
            }
            return "bad kernel parameter \(name)=\(value ?? ""): \(text)"
        }
    }
}
