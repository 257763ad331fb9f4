// Builds file trees for NAR tests: every node kind Nix records, and the awkward cases.
import Foundation

public enum TreeBuilder {
    /// One node of a tree to build.
    public indirect enum Node: Sendable {
        case file(String, [UInt8], executable: Bool = false)
        case symlink(String, target: String)
        case directory(String, [Node])
    }

    public static func build(_ node: Node, at parent: String) throws {
        switch node {
        case .file(let name, let bytes, let executable):
            let path = parent + "/" + name
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
                throw TestFailure("cannot create \(path)")
            }
            chmod(path, executable ? 0o755 : 0o644)
        case .symlink(let name, let target):
            try FileManager.default.createSymbolicLink(atPath: parent + "/" + name, withDestinationPath: target)
        case .directory(let name, let children):
            let path = parent + "/" + name
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            for child in children { try build(child, at: path) }
        }
    }

    /// Deterministic pseudo-random bytes (SplitMix64), so failures reproduce.
    public static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        var out = [UInt8]()
        out.reserveCapacity(count)
        while out.count < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z.littleEndian) { out.append(contentsOf: $0.prefix(count - out.count)) }
        }
        return out
    }

    /// The trees the NAR tests compare against `nix-store --dump`, by name.
    public static let referenceTrees: [(String, Node)] = {
        var deep: Node = .file("bottom", Array("deep\n".utf8))
        for i in (0..<40).reversed() { deep = .directory("d\(i)", [deep]) }
        return [
            ("empty-file", .file("root", [])),
            ("small-file", .file("root", Array("hello".utf8))),
            ("executable", .file("root", Array("#!/bin/sh\necho hi\n".utf8), executable: true)),
            ("relative-symlink", .symlink("root", target: "../some/where")),
            ("absolute-symlink", .symlink("root", target: "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x")),
            ("empty-dir", .directory("root", [])),
            (
                "mixed-dir",
                .directory(
                    "root",
                    [
                        .file("a", Array("lower a\n".utf8)),
                        .file("B", Array("upper B\n".utf8)),
                        .file("b", []),
                        .file("_", [1]),
                        .file("Z-exec", Array("x".utf8), executable: true),
                        .symlink("dangling", target: "/does/not/exist"),
                        .symlink("rel", target: "a"),
                        .directory("empty", []),
                        .directory("sub", [.file("x.so", bytes(4096, seed: 1)), .symlink("up", target: "../a")]),
                        .file("page-minus-1", bytes(4095, seed: 2)),
                        .file("page", bytes(4096, seed: 3)),
                        .file("page-plus-1", bytes(4097, seed: 4)),
                        .file("odd", bytes(13, seed: 5)),
                        .file("large", bytes(3 * 1024 * 1024 + 7, seed: 6)),
                        .file("utf8-\u{e9}", Array("accent".utf8)),
                    ])
            ),
            ("deep-nesting", .directory("root", [deep])),
        ]
    }()
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
