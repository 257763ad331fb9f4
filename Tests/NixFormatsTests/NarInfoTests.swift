import NixFormats
import Testing

@Suite struct NarInfoTests {
    // Written by `nix copy --to file://…?secret-key=…` on Nix 2.8.0 (nix-interop.md §3).
    static let nixWritten = """
        StorePath: /nix/store/l9r346p3d25vs4g5v37f3r3f28js97kb-app
        URL: nar/1q06g96v6qk51rs8flmsqh3yfmzilfq4ij3wzr6l94h9a34jvdhq.nar.xz
        Compression: xz
        FileHash: sha256:1q06g96v6qk51rs8flmsqh3yfmzilfq4ij3wzr6l94h9a34jvdhq
        FileSize: 244
        NarHash: sha256:17ka2dgpcmqziq35rjv9zmm4qn9288f0jskqcaklckiygic9dks5
        NarSize: 552
        References: xfp2hphvk98rkk9ywlqpp587rjdcgnc2-hello.txt
        Sig: raven-1:6jY0kEBbOnaxd7x3Oyd1OWHSqoYOjTB7UplFpvhh2xJ/wGocuYKQ/vLFsKZlmc7V7W6XagqfG7MLiul7RT28DA==

        """

    @Test func parsesAndRendersNixOutputByteForByte() throws {
        let info = try NarInfo.parse(Self.nixWritten)
        #expect(info.storePath.name == "app")
        #expect(info.compression == "xz")
        #expect(info.fileSize == 244)
        #expect(info.narSize == 552)
        #expect(info.references.map(\.baseName) == ["xfp2hphvk98rkk9ywlqpp587rjdcgnc2-hello.txt"])
        #expect(info.signatures.count == 1)
        #expect(info.render() == Self.nixWritten)
    }

    @Test func emptyReferencesKeepTheirTrailingSpace() throws {
        var info = try NarInfo.parse(Self.nixWritten)
        info.references = []
        #expect(info.render().contains("\nReferences: \n"))
        #expect(try NarInfo.parse(info.render()).references.isEmpty)
    }

    @Test func bareReferencesSwallowsTheNextLineAsNixDoes() {
        let text = Self.nixWritten.replacingOccurrences(
            "References: xfp2hphvk98rkk9ywlqpp587rjdcgnc2-hello.txt\n", with: "References:\n")
        // Nix: "'Sig:' is too short to be a valid store path".
        #expect(throws: NixFormatError.self) { try NarInfo.parse(text) }
    }

    @Test func defaultsAndUnknownKeys() throws {
        let text = """
            StorePath: /nix/store/l9r346p3d25vs4g5v37f3r3f28js97kb-app
            URL: nar/x.nar
            NarHash: sha256:17ka2dgpcmqziq35rjv9zmm4qn9288f0jskqcaklckiygic9dks5
            NarSize: 552
            Future: whatever
            Deriver: unknown-deriver

            """
        let info = try NarInfo.parse(text)
        #expect(info.compression == "bzip2")
        #expect(info.deriver == nil)
        #expect(info.fileHash == nil)
    }

    @Test(arguments: [
        ("no StorePath", "URL: x\nNarHash: sha256:17ka2dgpcmqziq35rjv9zmm4qn9288f0jskqcaklckiygic9dks5\nNarSize: 1\n"),
        (
            "no URL",
            "StorePath: /nix/store/l9r346p3d25vs4g5v37f3r3f28js97kb-app\nNarHash: sha256:17ka2dgpcmqziq35rjv9zmm4qn9288f0jskqcaklckiygic9dks5\nNarSize: 1\n"
        ),
        (
            "NarSize 0",
            "StorePath: /nix/store/l9r346p3d25vs4g5v37f3r3f28js97kb-app\nURL: x\nNarHash: sha256:17ka2dgpcmqziq35rjv9zmm4qn9288f0jskqcaklckiygic9dks5\nNarSize: 0\n"
        ),
        ("no final newline", "StorePath: /nix/store/l9r346p3d25vs4g5v37f3r3f28js97kb-app"),
        ("no colon", "StorePath /nix/store/l9r346p3d25vs4g5v37f3r3f28js97kb-app\n"),
        (
            "bare NarHash",
            "StorePath: /nix/store/l9r346p3d25vs4g5v37f3r3f28js97kb-app\nURL: x\nNarHash: 17ka2dgpcmqziq35rjv9zmm4qn9288f0jskqcaklckiygic9dks5\nNarSize: 1\n"
        ),
        (
            "bad NarSize",
            "StorePath: /nix/store/l9r346p3d25vs4g5v37f3r3f28js97kb-app\nURL: x\nNarHash: sha256:17ka2dgpcmqziq35rjv9zmm4qn9288f0jskqcaklckiygic9dks5\nNarSize: 1x\n"
        ),
    ])
    func rejectsCorrupt(name: String, text: String) {
        #expect(throws: NixFormatError.self, "\(name)") { try NarInfo.parse(text) }
    }

    @Test func cacheInfoParsesAndRenders() throws {
        let info = try NixCacheInfo.parse("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n")
        #expect(info == NixCacheInfo(storeDirectory: "/nix/store", wantMassQuery: true, priority: 30))
        #expect(info.render() == "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n")
        #expect(try NixCacheInfo.parse("StoreDir:   /nix/store  \nWantMassQuery: true\n").wantMassQuery == false)
        #expect(throws: NixFormatError.self) { try NixCacheInfo.parse("StoreDir: /gnu/store\n") }
        #expect(throws: NixFormatError.self) { try NixCacheInfo.parse("StoreDir: /nix/store\nPriority: high\n") }
    }
}

extension String {
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
