// Addresses given on the command line (--seed, --listen, --http): IP literals and a port only;
// the initrd has no DNS, so a host name is refused where it is given, with the usage.
import Testing

@testable import Runtime

@Suite struct SocketAddressTests {
    @Test func literalsParseAndPrintBack() {
        for (text, host, port) in [
            ("127.0.0.1:7020", "127.0.0.1", 7020), ("10.0.0.1:0", "10.0.0.1", 0), ("[::1]:7021", "::1", 7021),
            ("[fd00::1:2]:80", "fd00::1:2", 80),
        ] as [(String, String, UInt16)] {
            let address = SocketAddress(parsing: text)
            #expect(address == SocketAddress(host: host, port: port), "\(text)")
            #expect(address?.description == text)
        }
    }

    @Test func anythingElseIsRefused() {
        for text in [
            "raven:7020", "raven.lab:7020", "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", ":7020", "[]:7020",
            "256.0.0.1:7020", "[127.0.0.1]:7020", "[fd00::1:7020", "127.0.0.1:7020x", "",
        ] {
            #expect(SocketAddress(parsing: text) == nil, "\(text)")
        }
    }
}
