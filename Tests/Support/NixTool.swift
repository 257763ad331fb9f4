// Runs real Nix 2.8 (Debian's nix-bin) and rookery's own executable as child processes.
// Every Nix call gets a private HOME and config, no substituters, and must name a chroot store
// (`--store DIR`) when it opens one, so the machine's /nix is never touched.
import Foundation

public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: [UInt8]
    public let stderr: String
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

public enum NixTool {
    /// Runs `executable` with `arguments`, optional standard input, and extra environment.
    public static func run(
        _ executable: String, _ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:],
        timeoutSeconds: Double = 120
    ) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let outPipe = Pipe()
        let errPipe = Pipe()
        let inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        try process.run()
        // Drain both pipes while the child runs, so a large NAR cannot fill a pipe and stall it.
        let outData = DataCollector(outPipe.fileHandleForReading)
        let errData = DataCollector(errPipe.fileHandleForReading)
        if let stdin {
            inPipe.fileHandleForWriting.write(Data(stdin))
        }
        try? inPipe.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                throw TestFailure("\(executable) \(arguments) timed out")
            }
            usleep(2000)
        }
        return ProcessResult(
            status: process.terminationStatus, stdout: Array(outData.wait()),
            stderr: String(decoding: errData.wait(), as: UTF8.self))
    }

    /// Environment for Nix: private HOME and cache, no daemon, no nixbld group, no substituters;
    /// state and config dirs pointed into `home` as a second guard for the machine's /nix.
    public static func environment(home: String) -> [String: String] {
        [
            "HOME": home,
            "XDG_CACHE_HOME": home + "/.cache",
            "XDG_CONFIG_HOME": home + "/.config",
            "NIX_CONF_DIR": home + "/etc-nix",
            "NIX_STATE_DIR": home + "/nix-state",
            "NIX_LOG_DIR": home + "/nix-log",
            "NIX_REMOTE": "",
            "NIX_CONFIG":
                "experimental-features = nix-command\nbuild-users-group =\nsandbox = false\nsubstituters =\nrequire-sigs = true\n",
        ]
    }

    /// Runs a Nix command (`nix-store`, `nix`, `nix-hash`, …) from PATH with the private environment;
    /// throws unless it exits 0.
    @discardableResult
    public static func nix(_ tool: String, _ arguments: [String], home: String, stdin: [UInt8]? = nil) throws
        -> ProcessResult
    {
        let result = try run(try which(tool), arguments, stdin: stdin, environment: environment(home: home))
        guard result.status == 0 else {
            throw TestFailure("\(tool) \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result
    }

    /// Like `nix`, but returns the result whatever the exit status (for refusals).
    public static func nixAllowingFailure(_ tool: String, _ arguments: [String], home: String, stdin: [UInt8]? = nil)
        throws -> ProcessResult
    {
        try run(try which(tool), arguments, stdin: stdin, environment: environment(home: home))
    }

    public static func which(_ tool: String) throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TestFailure("\(tool) not found on PATH; run scripts/bootstrap.sh (installs nix-bin)")
    }

    /// The `rookery` executable built beside the test bundle.
    public static var rookeryExecutable: String {
        get throws {
            let me = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            var dir = (me as NSString).deletingLastPathComponent
            // The test binary sits in `<build>/rookeryPackageTests.xctest` or beside it.
            if dir.hasSuffix(".xctest") { dir = (dir as NSString).deletingLastPathComponent }
            let candidate = dir + "/rookery"
            guard FileManager.default.isExecutableFile(atPath: candidate) else {
                throw TestFailure("rookery executable not found at \(candidate)")
            }
            return candidate
        }
    }
}

/// Reads a pipe to its end on a background thread.
final class DataCollector: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
