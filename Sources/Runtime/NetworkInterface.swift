// The initrd agent talks to peers on the LAN and, in tests, over loopback; an initrd may leave
// `lo` down. Bringing it up needs no /etc and no DNS.
import CSystemShims
import Glibc

public enum NetworkInterface {
    /// Sets the interface up if it is down; the errno text on failure.
    public static func bringUp(_ name: String) -> String? {
        let rc = rookery_interface_up(name)
        return rc == 0 ? nil : String(cString: strerror(-rc))
    }
}
