// A real multi-path closure built by real Nix in a chroot store, without nixpkgs: busybox-static
// is imported as a source path and used as the builder (nix-and-qemu-practice.md §1).
import Foundation

public struct NixClosure {
    public let toplevel: String
    /// Every path of the closure, as `nix-store -qR` lists them.
    public let paths: [String]

    /// Builds a closure of seven paths (busybox source, two libraries, an app, a "kernel", an
    /// "initrd", a toplevel) with references between them, in the chroot store at `store`. The
    /// toplevel is laid out like a NixOS system's (`init`, `kernel` and `initrd` links,
    /// `kernel-params`), so raven lists it as bootable. Both libraries hold the same 512 KiB of
    /// zeros, so chunks repeat within a path and across paths, as in real closures (identical
    /// files, zero-filled regions), and liba refers to itself, as most binaries with an RPATH
    /// into their own output do. `salt` makes the paths new.
    public static func build(store: String, home: String, scratch: String, salt: String = "", blobKiB: Int = 64) throws
        -> NixClosure
    {
        let bb = scratch + "/bb"
        try FileManager.default.createDirectory(atPath: bb + "/bin", withIntermediateDirectories: true)
        let busybox =
            try ["/bin/busybox", "/usr/bin/busybox"].first { FileManager.default.fileExists(atPath: $0) }
            .map { $0 } ?? { throw TestFailure("busybox not found; run scripts/bootstrap.sh (busybox-static)") }()
        if !FileManager.default.fileExists(atPath: bb + "/bin/busybox") {
            try FileManager.default.copyItem(atPath: busybox, toPath: bb + "/bin/busybox")
            for applet in ["sh", "mkdir", "echo", "cat", "ln", "chmod", "head", "cp"] {
                try FileManager.default.createSymbolicLink(
                    atPath: bb + "/bin/" + applet, withDestinationPath: "busybox")
            }
        }
        let expression = """
            let
              bb = builtins.path { path = \(bb); name = "busybox"; };
              mk = name: script: derivation {
                inherit name; system = builtins.currentSystem; builder = "${bb}/bin/sh";
                args = [ "-c" script ]; PATH = "${bb}/bin"; salt = "\(salt)";
              };
              libA = mk "liba" "mkdir -p $out/lib; echo liba > $out/lib/a.so; echo $out > $out/lib/self; head -c \(blobKiB * 1024) /dev/urandom > $out/lib/blob; head -c 524288 /dev/zero > $out/lib/zeros";
              libB = mk "libb" "mkdir -p $out/lib $out/share; echo ${libA} > $out/share/deps; ln -s ${libA}/lib/a.so $out/lib/a.so; head -c 524288 /dev/zero > $out/share/zeros";
              app = mk "app" "mkdir -p $out/bin; echo '#!${bb}/bin/sh' > $out/bin/app; echo 'cat ${libB}/share/deps' >> $out/bin/app; chmod +x $out/bin/app";
              linux = mk "linux" "mkdir -p $out; echo not-a-kernel > $out/bzImage";
              initrd = mk "initrd" "mkdir -p $out; head -c 3000 /dev/urandom > $out/initrd";
            in mk "toplevel" "mkdir -p $out; ln -s ${app}/bin/app $out/init; echo ${libB} > $out/libs; ln -s ${linux}/bzImage $out/kernel; ln -s ${initrd}/initrd $out/initrd; echo 'console=ttyS0 loglevel=4' > $out/kernel-params"
            """
        let file = scratch + "/closure.nix"
        try expression.write(toFile: file, atomically: true, encoding: .utf8)
        let built = try NixTool.nix("nix-build", ["--store", store, file, "--no-out-link"], home: home)
        let toplevel = built.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let requisites = try NixTool.nix("nix-store", ["--store", store, "-qR", toplevel], home: home)
        let paths = requisites.stdoutText.split(separator: "\n").map(String.init)
        return NixClosure(toplevel: toplevel, paths: paths)
    }
}

/// What `nix path-info --json` says of one path.
public struct NixPathInfo {
    public let path: String
    public let narHash: String
    public let narSize: UInt64
    public let references: [String]
    public let signatures: [String]

    public static func query(_ paths: [String], store: String, home: String) throws -> [NixPathInfo] {
        let result = try NixTool.nix("nix", ["path-info", "--store", store, "--json"] + paths, home: home)
        guard let array = try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [[String: Any]] else {
            throw TestFailure("nix path-info --json did not print an array")
        }
        return try array.map { item in
            guard let path = item["path"] as? String, let narHash = item["narHash"] as? String,
                let narSize = item["narSize"] as? NSNumber
            else { throw TestFailure("nix path-info entry lacks path, narHash or narSize") }
            return NixPathInfo(
                path: path, narHash: narHash, narSize: narSize.uint64Value,
                references: item["references"] as? [String] ?? [], signatures: item["signatures"] as? [String] ?? [])
        }
    }
}
