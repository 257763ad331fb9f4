import NixFormats
import Testing

@Suite struct StorePathTests {
    static let hash = "l9r346p3d25vs4g5v37f3r3f28js97kb"

    @Test func parsesFullPathsAndBaseNames() throws {
        let p = try StorePath("/nix/store/\(Self.hash)-app-1.0")
        #expect(p.baseName == "\(Self.hash)-app-1.0")
        #expect(p.hashPart == Self.hash[...])
        #expect(p.name == "app-1.0")
        #expect(p.fullPath == "/nix/store/\(Self.hash)-app-1.0")
        #expect(try StorePath("\(Self.hash)-app-1.0") == p)
    }

    @Test(arguments: [
        "", "/nix/store/", "\(hash)", "\(hash)-", "\(hash)_app",
        "e9r346p3d25vs4g5v37f3r3f28js97kb-app",  // 'e' is not nix32
        "L9r346p3d25vs4g5v37f3r3f28js97kb-app",  // upper case
        "\(hash)-a/b", "\(hash)-sp ace", "\(hash)-.", "\(hash)-..", "\(hash)-.-x", "\(hash)-..-x",
        "\(hash)-" + String(repeating: "a", count: 212), "/other/store/\(hash)-app",
    ])
    func rejectsInvalid(text: String) {
        #expect(throws: NixFormatError.self) { try StorePath(text) }
    }

    @Test func acceptsEveryNameCharacter() throws {
        _ = try StorePath("\(Self.hash)-aZ09+-._?=")
        _ = try StorePath("\(Self.hash)-" + String(repeating: "a", count: 211))
        _ = try StorePath("\(Self.hash)-.dotfile")
        // Only ".", "..", ".-*" and "..-*" are reserved (Nix's checkName).
        _ = try StorePath("\(Self.hash)-...")
        _ = try StorePath("\(Self.hash)-..x")
        _ = try StorePath("\(Self.hash)-.x-y")
    }

    @Test func ordersByBaseNameBytes() throws {
        let a = try StorePath("0\(Self.hash.dropFirst())-b")
        let b = try StorePath("\(Self.hash)-a")
        #expect(a < b)
    }
}
