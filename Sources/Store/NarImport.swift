// Restores one NAR stream into a destination atomically: bytes are hashed and parsed as they
// arrive, the tree is built under a staging name beside the destination (or under its own name
// in a staging folder on the same file system), and only a complete archive (with the expected
// hash and size, when given) is renamed into place. Anything else removes the staging tree, so
// no half-written path is ever visible under the final name.
// While it grows, the bytes fed so far can be read back (`bytes`): the import keeps the NAR's
// framing and where each file's contents went, so a peer can be served a chunk that went
// straight into the staging tree.
import CSystemShims
import Glibc
import NixFormats
import Sodium

public final class NarImport {
    public let destination: String
    let name: String
    let stagingName: String
    /// Kept open as long as this import lives.
    private let directory: OpenDirectory
    private let staging: OpenDirectory
    private var parentFD: Int32 { directory.fd }
    private var stagingFD: Int32 { staging.fd }
    private var parser: NarParser
    private let restorer: NarRestorer
    private var hashing = NarHashingSink()
    private var byteTotal: UInt64 { fed.size }
    /// The NAR fed so far as framing and file ranges (the last file's range grows as it is written).
    private var fed = NarIndex.Builder()
    /// False when every byte was already verified against signed chunk ids (the NAR hash was
    /// checked once, at publish): SHA-256 is the slowest step of a restore.
    private let checksNarHash: Bool
    private var finished = false

    /// Prepares to restore into `destination`, which must not exist. A stale staging tree left
    /// by a crash is removed first.
    public convenience init(destination: String, limits: NarLimits = NarLimits(), checksNarHash: Bool = true)
        throws(StoreError)
    {
        let (parent, name) = splitPath(destination)
        try self.init(
            into: try OpenDirectory(parent), name: name, limits: limits, checksNarHash: checksNarHash,
            listedAbsent: false)
    }

    /// Prepares to restore into `name` inside `directory`, the tree growing as `name` in
    /// `staging` if given (same file system), else as `.<name>.rookery-partial` beside it.
    /// `listedAbsent`: the caller, the only writer there, listed the directories and found neither
    /// `name` nor its staging tree, so neither is looked up again (a thousand small paths spent
    /// two failed lookups each in a large store directory); the final rename still refuses to
    /// replace anything.
    public init(
        into directory: OpenDirectory, name: String, stagingIn staging: OpenDirectory? = nil,
        limits: NarLimits = NarLimits(), checksNarHash: Bool = true, listedAbsent: Bool
    ) throws(StoreError) {
        self.checksNarHash = checksNarHash
        self.directory = directory
        self.staging = staging ?? directory
        self.name = name
        destination = (directory.path == "/" ? "" : directory.path) + "/" + name
        stagingName = staging == nil ? Self.stagingName(name) : name
        let stagingIn = self.staging
        if !listedAbsent {
            var st = stat()
            if fstatat(directory.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
                throw .destinationExists(path: destination)
            }
            try removeTree(parentFD: stagingIn.fd, name: stagingName, path: stagingIn.path + "/" + stagingName)
        }
        parser = NarParser(limits: limits)
        restorer = NarRestorer(parentFD: stagingIn.fd, name: stagingName, displayPath: destination)
    }

    private var stagingTree: String { staging.path + "/" + stagingName }

    deinit {
        if !finished { abort() }
    }

    /// Bytes of the NAR received so far.
    public var byteCount: UInt64 { byteTotal }

    static func stagingName(_ name: String) -> String { ".\(name).rookery-partial" }

    /// NAR bytes `range` of what was fed so far, read back from the staging tree.
    public func bytes(_ range: Range<UInt64>) throws(StoreError) -> [UInt8] {
        guard !finished, range.upperBound <= byteTotal else {
            throw .sizeMismatch(path: destination, expected: byteTotal, got: range.upperBound)
        }
        let index = fed.index(realPath: stagingTree, upTo: range.upperBound)
        return try index.bytes(range)
    }

    /// Feeds the next bytes of the NAR.
    public func feed(_ bytes: ArraySlice<UInt8>) throws(StoreError) {
        do {
            if checksNarHash { try withBytes(bytes) { (raw) throws(StoreError) in try hashing.write(raw) } }
            var cursor = ByteCursor(bytes)
            var framed = bytes.startIndex
            while let event = try parser.next(from: &cursor) {
                if case .fileData(let data) = event, let file = restorer.currentFile {
                    fed.framing(bytes[framed..<data.startIndex])
                    fed.file(file, length: UInt64(data.count))
                    framed = data.endIndex
                }
                try restorer.apply(event)
            }
            try restorer.settle()
            fed.framing(bytes[framed...])
        } catch let error as StoreError {
            abort()
            throw error
        } catch let error as NarError {
            abort()
            throw .nar(error)
        } catch {
            preconditionFailure("only StoreError and NarError are thrown here")
        }
    }

    /// Ends the stream: checks completeness (and `expected` size and, when hashing, hash), then
    /// renames the tree into place. Returns the NAR's SHA-256 (nil when not hashing) and size.
    @discardableResult
    public func commit(expected: (hash: NixHash, size: UInt64)? = nil) throws(StoreError) -> (NixHash?, UInt64) {
        guard !finished else { preconditionFailure("NarImport committed twice") }
        let hash = checksNarHash ? NixHash(sha256: hashing.hasher.finalize()) : nil
        let size = byteTotal
        do {
            do { try parser.finish() } catch { throw StoreError.nar(error) }
            if let expected {
                guard expected.size == size else {
                    throw StoreError.sizeMismatch(path: destination, expected: expected.size, got: size)
                }
                if let hash, expected.hash != hash {
                    throw StoreError.hashMismatch(path: destination, expected: "\(expected.hash)", got: "\(hash)")
                }
            }
            // One call that refuses to replace: the destination may have appeared since the start
            // (ENOTEMPTY: a directory there). Renaming does not change the tree's mtime.
            switch rookery_rename_noreplace(stagingFD, stagingName, parentFD, name) {
            case 0: break
            case -EEXIST, -ENOTEMPTY: throw StoreError.destinationExists(path: destination)
            case -EINVAL:  // a file system without the flag: look, then rename
                var st = stat()
                if fstatat(parentFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
                    throw StoreError.destinationExists(path: destination)
                }
                if renameat(stagingFD, stagingName, parentFD, name) != 0 {
                    throw StoreError.lastSystem("rename", destination)
                }
            case let rc: throw StoreError.system("rename", destination, errno: -rc)
            }
            finished = true
            return (hash, size)
        } catch let error as StoreError {
            abort()
            throw error
        } catch {
            preconditionFailure("only StoreError is thrown here")
        }
    }

    /// Stops without committing and leaves the staging tree for a later run to salvage (every
    /// byte in it was verified before it was fed).
    public func keepForResume() {
        finished = true
    }

    /// Drops the staging tree. Safe to call more than once.
    public func abort() {
        guard !finished else { return }
        finished = true
        try? removeTree(parentFD: stagingFD, name: stagingName, path: stagingTree)
    }
}
