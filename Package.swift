// swift-tools-version:6.2
// The kitchen display system: the kiosk daemon (kds-kiosk), its operator tool
// (kdsctl) and the restaurant server of the sync contract (kds-server).
import PackageDescription

/// Our own code: Swift 6 language mode (the tools version's default) and every
/// warning treated as an error. Dependencies keep their own settings.
let strict: [SwiftSetting] = [
  .treatAllWarnings(as: .error),
  .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
  name: "kds",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "kds-kiosk", targets: ["kds-kiosk"]),
    .executable(name: "kdsctl", targets: ["kdsctl"]),
    .executable(name: "kds-server", targets: ["kds-server"]),
    .executable(name: "kds-bench", targets: ["kds-bench"]),
    .executable(name: "kds-devtest", targets: ["kds-devtest"]),
  ],
  dependencies: [
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    // Already one of Hummingbird's: the push stream ends on graceful shutdown.
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    // kds-server on PostgreSQL (issue 16): `serve --db postgres://…`.
    .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
  ],
  targets: [
    // MARK: C libraries (Debian -dev packages, see scripts/install-deps)
    .systemLibrary(
      name: "CDRM", path: "Sources/CDRM", pkgConfig: "libdrm",
      providers: [.apt(["libdrm-dev"])]),
    .systemLibrary(
      name: "CFreeType", path: "Sources/CFreeType", pkgConfig: "freetype2",
      providers: [.apt(["libfreetype-dev"])]),
    .systemLibrary(
      name: "CEvdev", path: "Sources/CEvdev", pkgConfig: "libevdev",
      providers: [.apt(["libevdev-dev"])]),
    .systemLibrary(
      name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
      providers: [.apt(["libcurl4-openssl-dev"])]),
    .systemLibrary(
      name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]),

    // MARK: small shared modules: pure (geometry, time) and thin over libc (system)
    .target(name: "KDSGeometry", swiftSettings: strict),
    .target(name: "KDSTime", swiftSettings: strict),
    .target(name: "KDSSystem", swiftSettings: strict),
    // The rules of the sync contract both sides check (station names)
    .target(name: "KDSContract", swiftSettings: strict),
    // The SQLite set-up the server and the kiosk share (WAL, synchronous, migrations)
    .target(
      name: "KDSDatabase",
      dependencies: [.product(name: "GRDB", package: "GRDB.swift")],
      swiftSettings: strict),

    // MARK: kiosk modules, from the inside out (no SwiftNIO in any of them)
    .target(
      name: "KDSCore",
      dependencies: ["KDSTime", "KDSContract"],
      swiftSettings: strict),
    .target(
      name: "KDSStore",
      dependencies: ["KDSCore", "KDSDatabase", .product(name: "GRDB", package: "GRDB.swift")],
      swiftSettings: strict),
    .target(
      name: "KDSSync",
      dependencies: [
        "KDSCore", "KDSStore", "KDSSystem", "CCurl",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .target(
      name: "KDSRender",
      dependencies: ["KDSCore", "KDSGeometry", "CFreeType", "CZlib"],
      swiftSettings: strict),
    .target(
      name: "KDSDisplay",
      dependencies: [
        "KDSRender", "KDSGeometry", "KDSSystem", "CDRM",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .target(
      name: "KDSInput",
      dependencies: [
        "KDSCore", "KDSGeometry", "KDSSystem", "CEvdev",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .target(
      name: "KDSKiosk",
      dependencies: [
        "KDSCore", "KDSStore", "KDSSync", "KDSRender", "KDSDisplay", "KDSInput", "KDSGeometry",
        "KDSSystem", .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),
    .executableTarget(
      name: "kds-kiosk",
      dependencies: [
        "KDSKiosk", "KDSGeometry", "KDSSystem",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: strict),
    .executableTarget(
      name: "kdsctl",
      dependencies: [
        "KDSCore", "KDSInput", "KDSSystem",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: strict),

    // MARK: the restaurant server
    .target(
      name: "KDSServer",
      dependencies: [
        "KDSTime", "KDSSystem", "KDSDatabase", "KDSContract", "CCurl",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "HummingbirdTLS", package: "hummingbird"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
      ],
      swiftSettings: strict),
    // A throwaway PostgreSQL cluster from Debian's packages, for the tests and the bench
    .target(name: "KDSPostgresCluster", swiftSettings: strict),
    .executableTarget(
      name: "kds-server",
      dependencies: [
        "KDSServer", "KDSTime", "KDSSystem",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: strict),

    // MARK: benchmarks (make bench)
    .executableTarget(
      name: "kds-bench",
      dependencies: [
        "KDSServer", "KDSCore", "KDSStore", "KDSSync", "KDSRender", "KDSKiosk", "KDSSystem",
        "KDSPostgresCluster",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: strict),

    // MARK: device test tools, not shipped (the QEMU guest's kds-devtest, make test-qemu)
    .target(
      name: "KDSDeviceTestSupport",
      dependencies: ["KDSGeometry", "KDSInput", "KDSSystem", "CEvdev"],
      swiftSettings: strict),
    .executableTarget(
      name: "kds-devtest",
      dependencies: [
        "KDSDeviceTestSupport", "KDSDisplay", "KDSInput", "KDSGeometry", "KDSSystem",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict),

    // MARK: tests
    .target(
      name: "KDSTestSupport",
      dependencies: ["KDSCore", "KDSRender", "KDSPostgresCluster"],
      path: "Tests/KDSTestSupport",
      swiftSettings: strict),
    .testTarget(
      name: "KDSServerTests",
      dependencies: [
        "KDSServer", "KDSTime", "KDSContract", "KDSTestSupport", "KDSPostgresCluster",
        .product(name: "GRDB", package: "GRDB.swift"),
      ],
      swiftSettings: strict),
    .testTarget(
      name: "KDSDatabaseTests",
      dependencies: ["KDSDatabase", .product(name: "GRDB", package: "GRDB.swift")],
      swiftSettings: strict),
    .testTarget(
      name: "KDSBaseTests",
      dependencies: ["KDSGeometry", "KDSTime", "KDSSystem"],
      swiftSettings: strict),
    .testTarget(
      name: "KDSCoreTests",
      dependencies: ["KDSCore", "KDSTestSupport"],
      swiftSettings: strict),
    .testTarget(
      name: "KDSKioskTests",
      dependencies: ["KDSKiosk", "KDSStore", "KDSSync", "KDSTestSupport"],
      swiftSettings: strict),
    .testTarget(
      name: "KDSRenderTests",
      dependencies: ["KDSRender", "KDSDisplay", "KDSKiosk", "KDSGeometry", "KDSTestSupport"],
      exclude: ["Golden"],
      swiftSettings: strict),
    .testTarget(
      name: "KDSDeviceTests",
      dependencies: [
        "KDSDisplay", "KDSInput", "KDSGeometry", "KDSDeviceTestSupport", "KDSTestSupport",
      ],
      swiftSettings: strict),
  ]
)
