// swift-tools-version:6.1
import PackageDescription

// Linking of the two C libraries is chosen by package traits, in one place:
//   swift build                      -> DynamicDeps (default): libuv.so, libsodium.so
//   swift build --traits StaticDeps  -> Debian's archives libuv_a.a and libsodium.a (initrd build)
// The systemLibrary targets are header-only (no `link`, no pkgConfig): both would inject -luv,
// which cannot link statically because Debian names the archive libuv_a.a.
// Each C library is linked by the one module that imports it.
let uvLinking: [LinkerSetting] = [
    .linkedLibrary("uv", .when(traits: ["DynamicDeps"])),
    .linkedLibrary("uv_a", .when(traits: ["StaticDeps"])),
    .linkedLibrary("pthread", .when(traits: ["StaticDeps"])),
    .linkedLibrary("dl", .when(traits: ["StaticDeps"])),
    .linkedLibrary("rt", .when(traits: ["StaticDeps"])),
]
let sodiumLinking: [LinkerSetting] = [
    .linkedLibrary("sodium", .when(traits: ["DynamicDeps"])),
    .linkedLibrary(":libsodium.a", .when(traits: ["StaticDeps"])),
]

let package = Package(
    name: "rookery",
    products: [
        .executable(name: "rookery", targets: ["rookery"]),
        .executable(name: "rookery-agent", targets: ["rookery-agent"]),
    ],
    traits: [
        .default(enabledTraits: ["DynamicDeps"]),
        .trait(name: "DynamicDeps", description: "Link libuv and libsodium as shared libraries."),
        .trait(name: "StaticDeps", description: "Link Debian's static archives of libuv and libsodium."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // C headers only; linking is decided above.
        .systemLibrary(name: "CLibUV", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CSodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CHTTPParser", providers: [.apt(["libhttp-parser-dev"])]),

        // The only importer of CSodium: hashes, signatures, secret keys.
        .target(name: "Sodium", dependencies: ["CSodium", "CSHA256", "CBlake2b"], linkerSettings: sodiumLinking),
        // SHA-256 blocks on the x86 SHA extensions, for Sodium's SHA256 where the CPU has them.
        .target(name: "CSHA256"),
        // BLAKE2b-256 of 8 (AVX-512) or 4 (AVX2) equal-length messages at once, for chunk ids.
        .target(name: "CBlake2b"),
        // Pure Nix formats: nix32, hashes, store paths, NAR events, narinfo, keys, registration.
        .target(name: "NixFormats", dependencies: ["Sodium"]),
        // The only importer of CLibUV: loop, TCP, timers, signals.
        .target(name: "Runtime", dependencies: ["CLibUV", "CSystemShims"], linkerSettings: uvLinking),
        .target(name: "CSystemShims"),
        // Pure boot formats a client reads: the kernel command line's words for the agent, the
        // disk layout declaration and its MBR.
        .target(name: "BootFormats", dependencies: ["NixFormats"]),
        // Pure: the boot menus raven hands out, and its boot-macs file (not in the agent).
        .target(name: "BootMenus", dependencies: ["NixFormats"]),
        // Pure protocol and swarm logic: manifest, chunks, frames, session state machines.
        .target(name: "Swarm", dependencies: ["NixFormats", "Sodium"]),
        // On-disk: dump a tree to a NAR stream, restore a NAR into a root with canonical metadata.
        .target(name: "Store", dependencies: ["BootFormats", "NixFormats", "Sodium", "Swarm", "CSystemShims"]),
        // Raven's side of the store: a closure's signed manifest, its paths hashed on all cores
        // (not in the agent).
        .target(name: "Publishing", dependencies: ["Store", "NixFormats", "Sodium", "Swarm"]),

        // Fuzzing: targets per decoder, a weak libFuzzer hook, and the driver executable.
        .target(
            name: "FuzzTargets", dependencies: ["BootFormats", "BootMenus", "NixFormats", "Swarm", "Sodium", "HTTP"]),
        .target(name: "CFuzzDriver"),
        .executableTarget(name: "rookery-fuzz", dependencies: ["FuzzTargets", "CFuzzDriver"]),

        // The initrd agent: Glibc only, linked fully static with `--traits StaticDeps`.
        .executableTarget(
            name: "rookery-agent", dependencies: ["BootFormats", "Services", "Runtime", "Store", "Swarm", "NixFormats"]),

        // The services: seed and fetch engine, gluing Runtime, Swarm and Store.
        .target(name: "Services", dependencies: ["Runtime", "Swarm", "Store", "NixFormats", "Sodium"]),

        // Sans-IO HTTP/1.x messages, byte ranges, response heads; the only importer of CHTTPParser.
        .target(name: "HTTP", dependencies: ["CHTTPParser"], linkerSettings: [.linkedLibrary("http_parser")]),
        // The HTTP faces on libuv: server, Nix binary cache, status and metrics (not in the agent).
        .target(
            name: "Faces",
            dependencies: ["BootMenus", "HTTP", "Runtime", "Services", "Store", "Swarm", "NixFormats", "Sodium"]),

        // The real swarm state machines over a modelled network, in virtual time.
        .target(name: "Simulation", dependencies: ["Swarm", "NixFormats", "Sodium"]),

        .executableTarget(
            name: "rookery",
            dependencies: [
                "BootFormats", "NixFormats", "Store", "Publishing", "Sodium", "Swarm", "Services", "Runtime",
                "Simulation",
                "Faces", "HTTP", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Release-mode benchmark harness: ratios measured in one run.
        .executableTarget(
            name: "rookery-bench", dependencies: ["NixFormats", "Store", "Sodium", "Swarm"],
            path: "Benchmarks/rookery-bench"),

        .target(name: "TestSupport", dependencies: ["NixFormats", "Sodium", "Swarm"], path: "Tests/Support"),
        .testTarget(name: "SodiumTests", dependencies: ["Sodium"]),
        .testTarget(name: "BootTests", dependencies: ["BootFormats", "BootMenus", "NixFormats", "FuzzTargets"]),
        .testTarget(name: "NixFormatsTests", dependencies: ["NixFormats", "Sodium", "TestSupport", "FuzzTargets"]),
        .testTarget(name: "SwarmTests", dependencies: ["Swarm", "NixFormats", "Sodium", "TestSupport", "Simulation"]),
        .testTarget(
            name: "FacesTests",
            dependencies: [
                "HTTP", "Faces", "Services", "NixFormats", "Sodium", "Store", "Swarm", "TestSupport", "FuzzTargets",
            ]),
        .testTarget(
            name: "StoreTests", dependencies: ["Store", "Publishing", "NixFormats", "TestSupport", "FuzzTargets"]),
        .testTarget(name: "ServicesTests", dependencies: ["Services", "Runtime", "Store", "Swarm", "TestSupport"]),
        .testTarget(
            name: "NixInteropTests",
            dependencies: [
                "Store", "NixFormats", "Runtime", "Sodium", "Swarm", "TestSupport", "rookery", "rookery-agent",
            ]),
    ]
)
