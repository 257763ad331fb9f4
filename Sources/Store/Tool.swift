// Runs other programs (mke2fs, nix) with posix_spawn, no Foundation. Foundation's Process adds a
// close action for every descriptor number below RLIMIT_NOFILE: 20 000 close calls in the child
// here, 55 ms of each `rookery publish` before Nix even started. Our descriptors are all
// O_CLOEXEC, so exec closes them.
import Glibc

public enum Tool {
    /// What a captured run printed, and how it ended.
    public struct Output: Sendable {
        /// waitpid's status: 0 is success.
        public let status: Int32
        public let stdout: [UInt8]
        public let stderr: [UInt8]

        /// The last non-empty line of stderr, for a one-line error.
        public var lastErrorLine: String {
            String(decoding: stderr, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        }
    }

    /// Runs `arguments[0]` (an absolute path) to completion; its output goes to ours.
    public static func run(_ arguments: [String]) throws(StoreError) {
        let pid = try spawn(arguments, searchPath: false, actions: nil)
        let status = reap(pid)
        guard status == 0 else { throw .toolFailed(tool: arguments[0], status: status) }
    }

    /// Runs `arguments[0]` (looked up on PATH) to completion and collects what it prints; after
    /// `timeout` seconds it is killed.
    public static func capture(_ arguments: [String], timeout: Int32 = 600) throws(StoreError) -> Output {
        let out = try pipeClosedOnExec(arguments[0])
        let err: [Int32]
        do { err = try pipeClosedOnExec(arguments[0]) } catch {
            close(out[0])
            close(out[1])
            throw error
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        let spawned = Result { () throws(StoreError) in try spawn(arguments, searchPath: true, actions: &actions) }
        close(out[1])
        close(err[1])
        defer {
            close(out[0])
            close(err[0])
        }
        let pid = try spawned.get()
        let printed = drain([out[0], err[0]], timeout: timeout)
        if printed == nil { kill(pid, SIGKILL) }
        let status = reap(pid)
        guard let printed else { throw .toolTimedOut(tool: arguments[0], seconds: timeout) }
        return Output(status: status, stdout: printed[0], stderr: printed[1])
    }

    /// A pipe whose ends exec closes (Glibc's module has no pipe2; publish spawns from one thread).
    private static func pipeClosedOnExec(_ tool: String) throws(StoreError) -> [Int32] {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw .lastSystem("pipe", tool) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return fds
    }

    private static func spawn(
        _ arguments: [String], searchPath: Bool, actions: UnsafePointer<posix_spawn_file_actions_t>?
    ) throws(StoreError) -> pid_t {
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let rc =
            searchPath
            ? posix_spawnp(&pid, arguments[0], actions, nil, argv, environ)
            : posix_spawn(&pid, arguments[0], actions, nil, argv, environ)
        guard rc == 0 else { throw .system(call: "spawn", path: arguments[0], errno: rc) }
        return pid
    }

    private static func reap(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    /// Everything written to `fds` until each is closed, or nil after `timeout` seconds.
    private static func drain(_ fds: [Int32], timeout: Int32) -> [[UInt8]]? {
        var polled = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        var printed = [[UInt8]](repeating: [], count: fds.count)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var open = fds.count
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let deadline = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000 + Int64(timeout) * 1000
        while open > 0 {
            clock_gettime(CLOCK_MONOTONIC, &now)
            let left = deadline - (Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000)
            if left <= 0 { return nil }
            if poll(&polled, nfds_t(polled.count), Int32(min(left, 60_000))) < 0 {
                if errno == EINTR { continue }
                return nil
            }
            for i in polled.indices where polled[i].fd >= 0 && polled[i].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(polled[i].fd, $0.baseAddress!, $0.count) }
                if n > 0 {
                    printed[i] += buffer[0..<n]
                } else if n == 0 || errno != EINTR {
                    // Closed (or broken): poll ignores a negative descriptor.
                    polled[i].fd = -1
                    open -= 1
                }
            }
        }
        return printed
    }
}
