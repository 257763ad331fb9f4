// `rookery-agent layout` on disk images, judged by util-linux (partx, blkid) and e2fsprogs: an
// empty or wrong disk gets the declared layout; a right one is left byte for byte alone; a disk
// too small gets one line and no write.
import Foundation
import TestSupport
import Testing

@Suite struct LayoutIntegrationTests {
    static func agent() throws -> String {
        if let override = ProcessInfo.processInfo.environment["ROOKERY_AGENT"] { return override }
        return (try NixTool.rookeryExecutable as NSString).deletingLastPathComponent + "/rookery-agent"
    }

    static func image(_ dir: TemporaryDirectory, _ name: String, mib: Int) throws -> String {
        let path = dir.sub(name)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(mib) << 20)
        try handle.close()
        return path
    }

    static func layout(_ dir: TemporaryDirectory, disk: String, label: String) throws -> String {
        let file = dir.sub("layout-\(label)")
        try "disk \(disk)\npartition boot ext2 16\npartition \(label) ext4 rest\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func anEmptyDiskIsLaidOutAndThenLeftAlone() throws {
        let dir = TemporaryDirectory()
        let disk = try Self.image(dir, "disk.img", mib: 128)
        let layout = try Self.layout(dir, disk: disk, label: "nixos")
        let first = try NixTool.run(try Self.agent(), ["layout", "--layout", layout])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdoutText.contains("partitioned and formatted"))
        let partx = try NixTool.run("/usr/bin/partx", ["--show", "--noheadings", "-o", "START,SECTORS", disk])
        let rows: [[String]] = partx.stdoutText.split(separator: "\n").map { row in
            row.split(separator: " ").map { String($0) }
        }
        let expected: [[String]] = [["2048", "32768"], ["34816", "227328"]]
        #expect(rows == expected)
        for (offset, label, type) in [(1 << 20, "boot", "ext2"), (17 << 20, "nixos", "ext4")] {
            let blkid = try NixTool.run("/usr/sbin/blkid", ["-p", "-O", "\(offset)", "-o", "export", disk])
            #expect(blkid.stdoutText.contains("LABEL=\(label)\n"), "\(blkid.stdoutText)")
            #expect(blkid.stdoutText.contains("TYPE=\(type)\n"))
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: disk))
        let second = try NixTool.run(try Self.agent(), ["layout", "--layout", layout])
        #expect(second.status == 0)
        #expect(second.stdoutText.contains("left alone"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: disk)) == before)

        // Another label declared: the disk is wrong now, and is laid out again.
        let other = try Self.layout(dir, disk: disk, label: "lab")
        let third = try NixTool.run(try Self.agent(), ["layout", "--layout", other])
        #expect(third.stdoutText.contains("partitioned and formatted"), "\(third.stderr)")
        let blkid = try NixTool.run("/usr/sbin/blkid", ["-p", "-O", "\(17 << 20)", "-o", "export", disk])
        #expect(blkid.stdoutText.contains("LABEL=lab\n"))
    }

    @Test func aDiskTooSmallGetsOneLineAndNoWrite() throws {
        let dir = TemporaryDirectory()
        let disk = try Self.image(dir, "small.img", mib: 40)
        let result = try NixTool.run(
            try Self.agent(), ["layout", "--layout", try Self.layout(dir, disk: disk, label: "nixos")])
        #expect(result.status == 1)
        #expect(result.stderr == "rookery-agent: disk \(disk) is too small: 40 MiB, the layout needs at least 81 MiB\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: disk)).allSatisfy { $0 == 0 })
    }
}
