// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "chainwatch",
    products: [
        .executable(name: "chainwatch", targets: ["chainwatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // 4.x: its Foundation use is FoundationEssentials, so the binary carries no ICU (issue 15: size, start-up).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        // C libraries: one system-library target each; pkg-config finds them, apt names the missing -dev package.
        .systemLibrary(name: "CLibElf", pkgConfig: "libelf", providers: [.apt(["libelf-dev"])]),
        .systemLibrary(name: "CLZMA", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CLibArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CCapstone", pkgConfig: "capstone", providers: [.apt(["libcapstone-dev"])]),
        .systemLibrary(name: "CYara", pkgConfig: "yara", providers: [.apt(["libyara-dev"])]),

        // Thin Swift wrappers: the only modules that touch C or Unsafe* types.
        .target(name: "HostIO"),
        // Multi-buffer MD5 (SIMD lanes): compiled optimised in debug builds too, since the test suite scans this
        // host's ~550 MB through it and unoptimised SIMD code runs at ~5 MB/s.
        .target(name: "Digests", swiftSettings: [.unsafeFlags(["-O"])]),
        .target(name: "XZ", dependencies: ["CLZMA"]),
        .target(name: "Disassembly", dependencies: ["CCapstone"]),
        .target(name: "ELFReader", dependencies: ["CLibElf", "XZ", "Disassembly"]),
        .target(name: "Journal", dependencies: ["CSystemd", "HostIO"]),
        .target(name: "Archive", dependencies: ["CLibArchive"]),
        .target(name: "YAML", dependencies: ["CYAML"]),
        .target(name: "YARA", dependencies: ["CYara"]),

        // The domain: facts about the host, rules as data, matching, reporting.
        .target(name: "Probes", dependencies: [
            "HostIO", "ELFReader", "Digests", "Archive",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "Rules", dependencies: ["YAML", "HostIO", "Probes", "YARA"]),
        .target(name: "Engine", dependencies: [
            "Probes", "Rules", "ELFReader", "HostIO", "Archive", "YARA",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "Reporting", dependencies: [
            "Engine", "Rules", "Probes",
            .product(name: "Crypto", package: "swift-crypto"),  // SARIF's partialFingerprints (SHA-256)
        ]),
        .target(name: "Daemon", dependencies: [
            "Engine", "Rules", "Journal", "HostIO", "Reporting", "Archive",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .executableTarget(name: "chainwatch", dependencies: [
            "Engine", "Reporting", "Rules", "Daemon",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // libFuzzer harness (scripts/fuzz.sh builds it with -sanitize=fuzzer); a plain build is a replay tool.
        .executableTarget(name: "chainwatch-fuzz", dependencies: ["ELFReader", "HostIO", "XZ", "Probes", "Rules", "Engine"]),

        .testTarget(name: "ChainwatchTests", dependencies: [
            "HostIO", "XZ", "ELFReader", "Probes", "Rules", "Engine", "Reporting", "Daemon", "Journal", "Archive", "YAML", "Digests",
            "Disassembly", "YARA",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
    ]
)
