import NixFormats
import Testing

@Suite struct RegistrationTests {
    @Test func rendersClosureInfoLayout() throws {
        let lib = try StorePath("/nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-lib")
        let app = try StorePath("/nix/store/bbp2hphvk98rkk9ywlqpp587rjdcgnc2-app")
        let hash = try NixHash.parsePrefixed("sha256:0sg9f58l1jj88w6pdrfdpj5x9b1zrwszk84j81zvby36q9whhhqa")
        let paths = [
            PathInfo(storePath: lib, narHash: hash, narSize: 120, references: []),
            PathInfo(storePath: app, narHash: hash, narSize: 240, references: [app, lib]),
        ]
        let text = Registration.render(paths)
        #expect(
            text == """
                /nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-lib
                sha256:0sg9f58l1jj88w6pdrfdpj5x9b1zrwszk84j81zvby36q9whhhqa
                120

                0
                /nix/store/bbp2hphvk98rkk9ywlqpp587rjdcgnc2-app
                sha256:0sg9f58l1jj88w6pdrfdpj5x9b1zrwszk84j81zvby36q9whhhqa
                240

                2
                /nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-lib
                /nix/store/bbp2hphvk98rkk9ywlqpp587rjdcgnc2-app

                """)
        #expect(try Registration.parse(text).map(\.storePath) == [lib, app])
        #expect(try Registration.parse(text)[1].references == [lib, app])
    }

    @Test func refusesCutRecords() {
        #expect(throws: NixFormatError.self) {
            try Registration.parse("/nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-lib\nsha256:x\n")
        }
        #expect(throws: NixFormatError.self) {
            try Registration.parse("/nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-lib")
        }
    }
}
