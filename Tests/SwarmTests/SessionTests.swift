// The protocol's state machines, event by event.
import NixFormats
import Sodium
import Swarm
import Testing

@Suite struct ServerSessionTests {
    static let seedHello = Hello(role: .seed, nodeID: [UInt8](repeating: 1, count: 16), listenPort: 7020)
    static let agentHello = Hello(role: .agent, nodeID: [UInt8](repeating: 2, count: 16), listenPort: 0)

    static func catalog() throws -> (ManifestCatalog, SignedManifest) {
        var catalog = ManifestCatalog()
        let signed = SignedManifest.sign(try Fixtures.manifest(), with: [try Fixtures.key()])
        try catalog.add(signed)
        return (catalog, signed)
    }

    @Test func handshakeThenManifestThenChunks() throws {
        let (catalog, signed) = try Self.catalog()
        var s = ServerSession(hello: Self.seedHello)
        #expect(s.state == .awaitingHello)
        #expect(s.received(.hello(Self.agentHello), catalog: catalog) == [.send(.hello(Self.seedHello))])
        #expect(s.state == .ready)
        let top = try Fixtures.manifest().toplevels[0]
        #expect(
            s.received(.getManifest(.toplevel(top), peersWelcome: false), catalog: catalog) == [
                .manifestAsked(signed.id, peersWelcome: false, toplevel: top)
            ])
        #expect(
            s.received(.getManifest(.id(signed.id), peersWelcome: true), catalog: catalog) == [
                .manifestAsked(signed.id, peersWelcome: true, toplevel: nil)
            ])
        let unknown = try StorePath("zzp2hphvk98rkk9ywlqpp587rjdcgnc2-other")
        #expect(
            s.received(.getManifest(.toplevel(unknown), peersWelcome: false), catalog: catalog) == [
                .send(.error(.notFound, "no such manifest"))
            ])
        let ids = try Fixtures.manifest().paths[0].chunks
        #expect(s.received(.request(ids), catalog: catalog) == [.serve(ids)])
        #expect(s.received(.ping(9), catalog: catalog) == [.send(.pong(9))])
        #expect(s.state == .ready)
    }

    @Test func anythingBeforeHelloClosesTheConnection() throws {
        let (catalog, _) = try Self.catalog()
        var s = ServerSession(hello: Self.seedHello)
        let actions = s.received(.request([ChunkID(of: [1])]), catalog: catalog)
        #expect(actions.last == .close(reason: "expected HELLO first"))
        #expect(s.state == .closed)
        #expect(s.received(.hello(Self.agentHello), catalog: catalog) == [])
    }

    @Test func wrongVersionAndUnexpectedMessagesClose() throws {
        let (catalog, _) = try Self.catalog()
        var old = ServerSession(hello: Self.seedHello)
        var hello = Self.agentHello
        hello.version = 9
        #expect(old.received(.hello(hello), catalog: catalog).last == .close(reason: "unsupported version"))
        var s = ServerSession(hello: Self.seedHello)
        _ = s.received(.hello(Self.agentHello), catalog: catalog)
        #expect(
            s.received(.chunk(ChunkID(of: [1]), [1][...]), catalog: catalog).last == .close(reason: "unexpected chunk"))
        var m = ServerSession(hello: Self.seedHello)
        #expect(m.malformed(.unknownMessageType(0x7f)).last == .close(reason: "unknown message type 127"))
    }
}

@Suite struct ClientSessionTests {
    static func session(keys: [NixPublicKey]) throws -> ClientSession {
        ClientSession(
            hello: ServerSessionTests.agentHello, selector: .toplevel(try Fixtures.manifest().toplevels[0]),
            trustedKeys: keys)
    }

    @Test func verifiesTheManifestBeforeAnyChunk() throws {
        let key = try Fixtures.key()
        var c = try Self.session(keys: [key.publicKey])
        let top = try Fixtures.manifest().toplevels[0]
        #expect(
            c.connected() == [
                .send(.hello(ServerSessionTests.agentHello)), .send(.getManifest(.toplevel(top), peersWelcome: false)),
            ])
        #expect(c.received(.hello(ServerSessionTests.seedHello)) == [])
        #expect(c.state == .awaitingManifest)
        // A chunk before the manifest is a violation.
        var early = c
        #expect(
            early.received(.chunk(ChunkID(of: [1]), [1][...])).first.map { if case .fail = $0 { true } else { false } }
                == true)
        let signed = SignedManifest.sign(try Fixtures.manifest(), with: [key])
        #expect(c.received(.manifest(signed.encode())) == [.verified(try Fixtures.manifest(), signed.id)])
        #expect(c.state == .transferring)
        let id = ChunkID(of: [1])
        #expect(c.received(.chunk(id, [1][...])) == [.chunk(id, [1][...])])
        #expect(c.received(.missing(id)) == [.missing(id)])
        #expect(c.received(.ping(3)) == [.send(.pong(3))])
    }

    @Test func refusesUntrustedTamperedOrMissingManifests() throws {
        let key = try Fixtures.key()
        let stranger = NixSecretKey(name: "stranger-1", key: .generate())
        var a = try Self.session(keys: [key.publicKey])
        _ = a.connected()
        _ = a.received(.hello(ServerSessionTests.seedHello))
        let strangers = SignedManifest.sign(try Fixtures.manifest(), with: [stranger]).encode()
        #expect(
            a.received(.manifest(strangers)) == [
                .fail("manifest refused: manifest is signed only by untrusted keys (stranger-1)")
            ])
        #expect(a.state == .closed)

        var b = try Self.session(keys: [key.publicKey])
        _ = b.connected()
        _ = b.received(.hello(ServerSessionTests.seedHello))
        var file = SignedManifest.sign(try Fixtures.manifest(), with: [key]).encode()
        file[30] ^= 1
        guard case .fail(let line) = b.received(.manifest(file)).first else {
            Issue.record("a tampered manifest must fail")
            return
        }
        #expect(line.hasPrefix("manifest refused"))

        var c = try Self.session(keys: [key.publicKey])
        _ = c.connected()
        _ = c.received(.hello(ServerSessionTests.seedHello))
        guard case .fail(let missing) = c.received(.error(.notFound, "no such manifest")).first else {
            Issue.record("not found must fail")
            return
        }
        #expect(missing.contains("has no manifest for /nix/store/"))
    }

    /// Each way a seed can end a fetch before or during the transfer gives one line: a manifest
    /// for another system (signed, but not the one asked for), another protocol version, an error
    /// frame, a frame that cannot be decoded.
    @Test func endsWithOneLineOnAnyRefusal() throws {
        let key = try Fixtures.key()
        let signed = SignedManifest.sign(try Fixtures.manifest(), with: [key]).encode()
        func greeted(_ selector: ManifestSelector) -> ClientSession {
            var s = ClientSession(
                hello: ServerSessionTests.agentHello, selector: selector, trustedKeys: [key.publicKey])
            _ = s.connected()
            _ = s.received(.hello(ServerSessionTests.seedHello))
            return s
        }
        let other = try StorePath("/nix/store/00000000000000000000000000000000-other-system")
        var a = greeted(.toplevel(other))
        #expect(a.received(.manifest(signed)) == [.fail("manifest refused: it does not list \(other.fullPath)")])
        let elsewhere = Digest256(bytes: [UInt8](repeating: 9, count: 32))!
        var b = greeted(.id(elsewhere))
        #expect(b.received(.manifest(signed)) == [.fail("manifest refused: it is not manifest \(elsewhere.hex)")])

        var c = try Self.session(keys: [key.publicKey])
        _ = c.connected()
        var newer = ServerSessionTests.seedHello
        newer.version = Hello.currentVersion + 1
        #expect(c.received(.hello(newer)) == [.fail("seed speaks protocol version \(Hello.currentVersion + 1)")])
        #expect(c.state == .closed)

        var d = greeted(.toplevel(try Fixtures.manifest().toplevels[0]))
        _ = d.received(.manifest(signed))
        #expect(d.received(.error(.busy, "too many fetches")) == [.fail("seed reported busy: too many fetches")])
        var e = greeted(.toplevel(try Fixtures.manifest().toplevels[0]))
        #expect(e.malformed(.truncated) == [.fail("protocol violation: data ends early")])
        #expect(e.state == .closed)
        #expect(e.received(.ping(1)) == [], "a closed session answers nothing")
    }
}
