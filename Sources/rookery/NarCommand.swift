// `rookery nar dump|restore|hash`: the jobs of `nix-store --dump`, `nix-store --restore` and
// `nix-hash --type sha256 --base32`, with the same output.
import ArgumentParser
import Glibc
import NixFormats
import Store

struct NarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nar",
        abstract: "Work with Nix archives (NAR).",
        subcommands: [Dump.self, Restore.self, Hash.self])

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the NAR of PATH to standard output.")

        @Argument(help: "A file, directory or symlink.")
        var path: String

        func run() throws {
            var sink = FileDescriptorSink(fd: STDOUT_FILENO, name: "standard output")
            do { try NarDumper().dump(path: path, to: &sink) } catch { throw CommandFailure(error) }
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore the NAR on standard input to DEST, atomically and with canonical metadata.")

        @Argument(help: "Where to create the tree; must not exist.")
        var destination: String

        func run() throws {
            do {
                let importer = try NarImport(destination: destination)
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                while true {
                    let n = buffer.withUnsafeMutableBytes { Glibc.read(STDIN_FILENO, $0.baseAddress!, $0.count) }
                    if n < 0 {
                        if errno == EINTR { continue }
                        importer.abort()
                        throw StoreError.lastSystem("read", "standard input")
                    }
                    if n == 0 { break }
                    try importer.feed(buffer[0..<n])
                }
                try importer.commit()
            } catch {
                throw CommandFailure(error)
            }
        }
    }

    struct Hash: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the SHA-256 of PATH's NAR in nix32, as `nix-hash --type sha256 --base32`.")

        @Argument(help: "A file, directory or symlink.")
        var path: String

        func run() throws {
            var sink = NarHashingSink()
            do { try NarDumper().dump(path: path, to: &sink) } catch { throw CommandFailure(error) }
            print(NixHash(sha256: sink.hasher.finalize()).nix32)
        }
    }
}
