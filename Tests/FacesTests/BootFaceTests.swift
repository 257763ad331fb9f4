// The boot face: what it takes from a request to build the menus it hands out.
import Testing

@testable import Faces

@Suite struct BootFaceTests {
    @Test func hostsAreIPLiteralsOnly() {
        #expect(BootFace.hostIP("10.0.0.1:7080") == "10.0.0.1")
        #expect(BootFace.hostIP("[fd00::1]:7080") == "fd00::1")
        #expect(BootFace.hostIP("raven:7080") == nil)
    }
}
