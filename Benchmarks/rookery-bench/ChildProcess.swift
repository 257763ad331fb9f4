// Runs a child with stdout to /dev/null and reports its wall time and peak RSS (wait4 rusage).
import Glibc

struct ChildResult {
    let status: Int32
    let seconds: Double
    let maxRSSKiB: Int
}

func runChild(_ argv: [String], environment: [String] = []) -> ChildResult? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for a in cArgs { free(a) } }
    var env: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
    defer { for e in env { free(e) } }
    var pid = pid_t()
    let start = monotonicSeconds()
    let rc = env.withUnsafeMutableBufferPointer { envp in
        posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, environment.isEmpty ? environ : envp.baseAddress)
    }
    guard rc == 0 else { return nil }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let seconds = monotonicSeconds() - start
    return ChildResult(status: (status >> 8) & 0xff, seconds: seconds, maxRSSKiB: usage.ru_maxrss)
}

/// The first executable named `tool` on PATH.
func which(_ tool: String) -> String? {
    guard let path = getenv("PATH") else { return nil }
    for dir in String(cString: path).split(separator: ":") where access("\(dir)/\(tool)", X_OK) == 0 {
        return "\(dir)/\(tool)"
    }
    return nil
}
