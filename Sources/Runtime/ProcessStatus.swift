// A process's memory as Linux reports it in /proc/PID/status. The agent runs in an initrd, in
// whatever RAM the client has before its root is mounted, so its summary line says how much it
// needed (and tests bound it, and the seed's, under abuse).
import Glibc

public enum ProcessStatus {
    /// The largest resident set of this process image, in KiB (VmHWM). Not getrusage's
    /// ru_maxrss: Linux carries that across exec, so a child forked by a 300 MiB test runner
    /// reported 300 MiB before it had done anything.
    public static var peakResidentKiB: UInt64 { kibibytes("VmHWM:") }

    /// A `kB` field of /proc/`process`/status ("self", or a pid), 0 if unknown.
    public static func kibibytes(_ field: String, of process: String = "self") -> UInt64 {
        let fd = open("/proc/\(process)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return 0 }
        return value(of: field, in: buffer[..<n])
    }

    /// The number after `field` at the start of a line of `status`, 0 if absent.
    static func value(of field: String, in status: ArraySlice<UInt8>) -> UInt64 {
        for line in status.split(separator: UInt8(ascii: "\n")) where line.starts(with: field.utf8) {
            var number: UInt64 = 0
            for c in line.dropFirst(field.utf8.count) where c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                number = number * 10 + UInt64(c - UInt8(ascii: "0"))
            }
            return number
        }
        return 0
    }
}
