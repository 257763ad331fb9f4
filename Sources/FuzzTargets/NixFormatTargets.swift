// Fuzz targets for the pure Nix decoders.
import NixFormats

extension FuzzTarget {
    /// Parses a NAR fed in uneven pieces; an accepted NAR must re-encode to the same bytes.
    public static let narParser = FuzzTarget(name: "nar-parser", seeds: NarSeeds.all) { input in
        var parser = NarParser()
        var writer = NarWriter()
        var out: [UInt8] = []
        var offset = 0
        var step = 1
        do {
            while offset < input.count {
                let end = min(input.count, offset + step)
                var cursor = ByteCursor(input[offset..<end])
                while let event = try parser.next(from: &cursor) {
                    try writer.write(event, into: &out)
                }
                offset = end
                step = step % 13 + 1
            }
            try parser.finish()
        } catch {
            return false
        }
        precondition(writer.isComplete, "parser accepted a NAR the writer finds incomplete")
        precondition(out == input, "accepted NAR does not re-encode to its own bytes")
        return true
    }

    /// narinfo: whatever parses must render to text that parses to the same value.
    public static let narInfo = FuzzTarget(
        name: "narinfo",
        seeds: [
            Array(
                """
                StorePath: /nix/store/l9r346p3d25vs4g5v37f3r3f28js97kb-app
                URL: nar/1q06g96v6qk51rs8flmsqh3yfmzilfq4ij3wzr6l94h9a34jvdhq.nar
                Compression: none
                FileHash: sha256:1q06g96v6qk51rs8flmsqh3yfmzilfq4ij3wzr6l94h9a34jvdhq
                FileSize: 244
                NarHash: sha256:17ka2dgpcmqziq35rjv9zmm4qn9288f0jskqcaklckiygic9dks5
                NarSize: 552
                References: xfp2hphvk98rkk9ywlqpp587rjdcgnc2-hello.txt l9r346p3d25vs4g5v37f3r3f28js97kb-app
                Deriver: 0a9yfmxcsgzw8d6d4qnq5i8wz4kcjdw8-app.drv
                Sig: raven-1:6jY0kEBbOnaxd7x3Oyd1OWHSqoYOjTB7UplFpvhh2xJ/wGocuYKQ/vLFsKZlmc7V7W6XagqfG7MLiul7RT28DA==
                CA: fixed:r:sha256:17ka2dgpcmqziq35rjv9zmm4qn9288f0jskqcaklckiygic9dks5

                """.utf8)
        ]
    ) { input in
        guard let info = try? NarInfo.parse(String(decoding: input, as: UTF8.self)) else { return false }
        let again = try? NarInfo.parse(info.render())
        precondition(again == info, "narinfo does not survive render and parse")
        return true
    }

    public static let cacheInfo = FuzzTarget(
        name: "nix-cache-info", seeds: [Array("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n".utf8)]
    ) { input in
        guard let info = try? NixCacheInfo.parse(String(decoding: input, as: UTF8.self)) else { return false }
        precondition((try? NixCacheInfo.parse(info.render())) == info, "nix-cache-info does not round-trip")
        return true
    }

    public static let registration = FuzzTarget(
        name: "registration",
        seeds: [
            Array(
                """
                /nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-lib
                sha256:0sg9f58l1jj88w6pdrfdpj5x9b1zrwszk84j81zvby36q9whhhqa
                120

                1
                /nix/store/bbp2hphvk98rkk9ywlqpp587rjdcgnc2-app

                """.utf8),
            // libFuzzer's finding: references out of order (a set to Nix; render sorts them).
            Array(
                """
                /nix/store/aap3hphvk98rkk9ywlqpp587rjdcgnc2-lib
                sha256:0sg9f58l1jj88w6pdrfdpj5x9b1zrwszk84j81zvby36q9whhhqa
                120

                2
                /nix/store/bbp2hphvk98rkk9ywlqpp587rjdcglc2-app
                /nix/store/aap3hphvk98rkk9ywlqpp587rjdcgnc2-lib

                """.utf8),
        ]
    ) { input in
        guard let paths = try? Registration.parse(String(decoding: input, as: UTF8.self)) else { return false }
        // References are a set in Nix (render writes them sorted): compare them as one.
        func normalized(_ records: [PathInfo]) -> [PathInfo] {
            records.map {
                var r = $0; r.references.sort(); return r
            }
        }
        precondition(
            (try? Registration.parse(Registration.render(paths))).map(normalized) == normalized(paths),
            "registration does not round-trip")
        return true
    }

    /// Key files and hash strings: parse or refuse, never crash; accepted keys print back the same.
    public static let keys = FuzzTarget(
        name: "keys",
        seeds: [
            Array("test-1:iACxG2Upp3imZN+RJONBue9sxqm32jutvYuNR+CTXgM=".utf8),
            Array("sha256-CkMIecJm+LV/QJKg+TXPP6zUi7zN5XYNR0jKQFFx6Wk=".utf8),
            Array("sha256:0sg9f58l1jj88w6pdrfdpj5x9b1zrwszk84j81zvby36q9whhhqa".utf8),
        ]
    ) { input in
        let text = String(decoding: input, as: UTF8.self)
        var accepted = false
        if let key = try? NixPublicKey(parsing: text) {
            precondition((try? NixPublicKey(parsing: key.description)) == key, "public key does not round-trip")
            accepted = true
        }
        if (try? NixSecretKey(parsing: text)) != nil { accepted = true }
        if let hash = try? NixHash.parsePrefixed(text) {
            precondition((try? NixHash.parsePrefixed(hash.description)) == hash, "hash does not round-trip")
            precondition((try? NixHash.parsePrefixed(hash.sri)) == hash, "SRI hash does not round-trip")
            accepted = true
        }
        if (try? StorePath(text)) != nil { accepted = true }
        return accepted
    }
}

/// Small valid NARs covering every node kind.
enum NarSeeds {
    static var all: [[UInt8]] {
        func nar(_ events: [NarEvent]) -> [UInt8] {
            var writer = NarWriter()
            var out: [UInt8] = []
            for e in events { try! writer.write(e, into: &out) }
            return out
        }
        let file: [NarEvent] = [.fileStart(executable: false, size: 5), .fileData(Array("hello".utf8)[...]), .fileEnd]
        let tree: [NarEvent] = [
            .directoryStart,
            .entryStart(name: Array("B".utf8)), .symlink(target: Array("../a".utf8)), .entryEnd,
            .entryStart(name: Array("a".utf8)), .fileStart(executable: true, size: 9),
            .fileData(Array("#!/bin/sh".utf8)[...]), .fileEnd, .entryEnd,
            .entryStart(name: Array("d".utf8)), .directoryStart,
            .entryStart(name: Array("e".utf8)), .fileStart(executable: false, size: 0), .fileEnd, .entryEnd,
            .directoryEnd, .entryEnd,
            .directoryEnd,
        ]
        return [nar(file), nar(tree)]
    }
}
