// Publishing into a state that already holds manifests. Generations are ordered by `createdAt`
// (boot menus put the newest first), so a publish is always newer than every manifest before it,
// even within the same second: the NixOS seed module publishes its systems one after another each
// time the seed starts, and the last one must be the default. And the same closure published
// again (same toplevels, label, chunk size and paths) replaces its earlier manifests rather than
// adding one per seed start: clients ask for a toplevel, not for a manifest's id. With a limit
// (`--keep N`, like NixOS's configurationLimit), only the newest N generations stay.
import Sodium
import Swarm

public enum Republishing {
    /// `now`, or one second after the newest of `earlier` if that is not before `now`.
    public static func createdAt(now: UInt64, after earlier: [Manifest]) -> UInt64 {
        guard let newest = earlier.map(\.createdAt).max(), newest >= now else { return now }
        return newest + 1
    }

    /// The ids among `earlier` of manifests that `manifest` replaces: equal to it but for `createdAt`.
    public static func replaced(by manifest: Manifest, among earlier: [(id: Digest256, manifest: Manifest)])
        -> [Digest256]
    {
        earlier.filter { e in
            var same = e.manifest
            same.createdAt = manifest.createdAt
            return same == manifest
        }.map(\.id)
    }

    /// The ids among `mine` beyond the newest `keep` by `createdAt` (ties by id, so the choice
    /// does not depend on the order the files were listed in): the generations a limit removes.
    public static func beyond(newest keep: Int, among mine: [(id: Digest256, manifest: Manifest)]) -> [Digest256] {
        mine.sorted { ($0.manifest.createdAt, $0.id.hex) > ($1.manifest.createdAt, $1.id.hex) }
            .dropFirst(max(keep, 0)).map(\.id)
    }
}
