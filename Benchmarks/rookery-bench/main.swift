// rookery-bench: the foundation's speed and memory, as ratios measured in one run.
//   swift build -c release && .build/release/rookery-bench [--mib N]
//   (--hash-only: hash speeds alone; --manifest FILE KEY: a signed manifest's decoding steps)
// Prints MiB/s for BLAKE2b-256, SHA-256, NAR dump (to nothing and hashed) and NAR parse, each
// against a reference measured in the same run, and peak RSS of `rookery nar dump` on a 1 GiB
// file next to `nix-store --dump` of the same file.
import Glibc
import NixFormats
import Sodium
import Store

var mib = 256
if let i = CommandLine.arguments.firstIndex(of: "--mib"), i + 1 < CommandLine.arguments.count {
    mib = Int(CommandLine.arguments[i + 1]) ?? mib
}

struct NullSink: ByteSink {
    var count = 0
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) { count += bytes.count }
}

if let i = CommandLine.arguments.firstIndex(of: "--manifest"), i + 2 < CommandLine.arguments.count {
    try manifestBench(file: CommandLine.arguments[i + 1], key: CommandLine.arguments[i + 2])
    exit(0)
}
let hashOnly = CommandLine.arguments.contains("--hash-only")
if hashOnly {
    let buffer = [UInt8](repeating: 0xa5, count: 1 << 20)
    let seconds = bestOf(3) {
        let h = Blake2b256()
        for _ in 0..<mib { h.update(buffer) }
        _ = h.finalize()
    }
    print("hash   BLAKE2b-256 \(Int(Double(mib) / seconds)) MiB/s")
    // Chunk ids as the agent and publish compute them: 128 KiB chunks, a lane-parallel call each.
    let laneSeconds = buffer.withUnsafeBytes { raw in
        let chunks = (0..<(mib * 8)).map { i in
            UnsafeRawBufferPointer(rebasing: raw[(i % 8 * 131_072)..<((i % 8 + 1) * 131_072)])
        }
        return bestOf(3) {
            for start in stride(from: 0, to: chunks.count, by: Blake2b256.lanes) {
                _ = Blake2b256.hash(each: Array(chunks[start..<min(start + Blake2b256.lanes, chunks.count)]))
            }
        }
    }
    print("lanes  BLAKE2b-256 of 128 KiB chunks, \(Blake2b256.lanes) per call: \(Int(Double(mib) / laneSeconds)) MiB/s")
    let shaSeconds = bestOf(3) {
        let h = SHA256()
        for _ in 0..<mib { h.update(buffer) }
        _ = h.finalize()
    }
    print("sha    SHA-256 \(Int(Double(mib) / shaSeconds)) MiB/s")
    exit(0)
}

var template = Array("/tmp/rookery-bench-XXXXXX".utf8CString)
let scratch = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!)! })
defer { _ = runChild(["rm", "-rf", scratch]) }

// 1. Peak RSS while dumping a 1 GiB file, each tool as a child process. Measured first: a
// child's ru_maxrss starts at its parent's RSS at spawn, so the harness must still be small.
let big = scratch + "/big"
try makeSparseFile(at: big, bytes: 1 << 30)
let rookery = executableBeside("rookery")
let nixEnvironment = ["HOME=\(scratch)/home", "PATH=/usr/bin:/bin", "NIX_CONFIG=build-users-group ="]
mkdir(scratch + "/home", 0o700)
var ourRun: ChildResult?
var nixRun: ChildResult?
for _ in 0..<3 {
    if let r = runChild([rookery, "nar", "dump", big]), r.status == 0, r.seconds < (ourRun?.seconds ?? .infinity) {
        ourRun = r
    }
    if let nixStore = which("nix-store"),
        let n = runChild([nixStore, "--store", scratch + "/nixstore", "--dump", big], environment: nixEnvironment),
        n.status == 0, n.seconds < (nixRun?.seconds ?? .infinity)
    {
        nixRun = n
    }
}
if let r = ourRun {
    var line = "rss    rookery nar dump, 1 GiB file: peak RSS \(r.maxRSSKiB / 1024) MiB, \(Int(1024 / r.seconds)) MiB/s"
    if let n = nixRun {
        line += "; nix-store --dump: \(n.maxRSSKiB / 1024) MiB, \(Int(1024 / n.seconds)) MiB/s"
        line += " (RSS rookery ÷ nix = \(fmt(Double(r.maxRSSKiB) / Double(n.maxRSSKiB))))"
    }
    print(line)
} else {
    print("rss    could not run \(rookery)")
}

// 2. Hashes over 1 MiB buffers.
let buffer = [UInt8](repeating: 0xa5, count: 1 << 20)
let blakeSeconds = bestOf(3) {
    let h = Blake2b256()
    for _ in 0..<mib { h.update(buffer) }
    _ = h.finalize()
}
let shaSeconds = bestOf(3) {
    let h = SHA256()
    for _ in 0..<mib { h.update(buffer) }
    _ = h.finalize()
}
let blake = Double(mib) / blakeSeconds
let sha = Double(mib) / shaSeconds
print("hash   BLAKE2b-256 \(Int(blake)) MiB/s, SHA-256 \(Int(sha)) MiB/s (BLAKE2b ÷ SHA-256 = \(fmt(blake / sha)))")

// 3. NAR dump of a tree, to nothing and hashed, against nix-store --dump of the same tree.
let tree = scratch + "/tree"
try makeTree(at: tree, totalMiB: mib, fileCount: 512)
var narBytes = 0
let dumpSeconds = try bestOf(3) {
    var sink = NullSink()
    try NarDumper().dump(path: tree, to: &sink)
    narBytes = sink.count
}
let hashSeconds = try bestOf(3) {
    var sink = NarHashingSink()
    try NarDumper().dump(path: tree, to: &sink)
}
let narMiB = Double(narBytes) / mebibyte
print(
    "dump   \(Int(narMiB / dumpSeconds)) MiB/s to nothing; \(Int(narMiB / hashSeconds)) MiB/s hashed (SHA-256); hashed ÷ SHA-256 alone = \(fmt(narMiB / hashSeconds / sha))"
)
if let nixStore = which("nix-store") {
    var best = Double.infinity
    for _ in 0..<3 {
        if let r = runChild([nixStore, "--store", scratch + "/nixstore", "--dump", tree], environment: nixEnvironment),
            r.status == 0
        {
            best = min(best, r.seconds)
        }
    }
    var ours = Double.infinity
    for _ in 0..<3 {
        if let r = runChild([rookery, "nar", "dump", tree]), r.status == 0 { ours = min(ours, r.seconds) }
    }
    print(
        "dump   process to /dev/null: rookery \(fmt(ours)) s, nix-store --dump \(fmt(best)) s (rookery ÷ nix = \(fmt(ours / best)))"
    )
}

// 4. NAR parse from memory in 1 MiB pieces (events only: file data is handed out as slices).
var nar = MemorySink()
try NarDumper().dump(path: tree, to: &nar)
let parseSeconds = try bestOf(3) {
    var parser = NarParser()
    var offset = 0
    while offset < nar.bytes.count {
        let end = min(offset + (1 << 20), nar.bytes.count)
        var cursor = ByteCursor(nar.bytes[offset..<end])
        while try parser.next(from: &cursor) != nil {}
        offset = end
    }
    try parser.finish()
}
let parseAndHashSeconds = try bestOf(3) {
    var parser = NarParser()
    let hasher = SHA256()
    var offset = 0
    while offset < nar.bytes.count {
        let end = min(offset + (1 << 20), nar.bytes.count)
        hasher.update(nar.bytes[offset..<end])
        var cursor = ByteCursor(nar.bytes[offset..<end])
        while try parser.next(from: &cursor) != nil {}
        offset = end
    }
    try parser.finish()
    _ = hasher.finalize()
}
print(
    "parse  \(Int(narMiB / parseSeconds)) MiB/s events only; with SHA-256 \(Int(narMiB / parseAndHashSeconds)) MiB/s (÷ SHA-256 alone = \(fmt(narMiB / parseAndHashSeconds / sha)))"
)
nar = MemorySink()

func executableBeside(_ name: String) -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let me = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    return String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/" + name
}

func fmt(_ x: Double) -> String {
    let scaled = (x * 100).rounded() / 100
    return "\(scaled)"
}
