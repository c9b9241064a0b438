// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "slotgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "slotgated", targets: ["slotgated"]),
        .executable(name: "slotgate", targets: ["slotgate"]),
        .executable(name: "agp-sim", targets: ["agp-sim"]),
        .library(name: "SlotgateCore", targets: ["SlotgateCore"]),
        .library(name: "SlotgateUpstream", targets: ["SlotgateUpstream"]),
        .library(name: "AGPSimulator", targets: ["AGPSimulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // The pure core: leases, grant order, slot accounting. No NIO, HTTP, SQL or systemd.
        .target(
            name: "SlotgateCore",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The platform client and the poller.
        .target(
            name: "SlotgateUpstream",
            dependencies: [
                "SlotgateCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // A faithful fake of the agent platform, for tests, the demo and benchmarks.
        .target(
            name: "AGPSimulator",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "agp-sim",
            dependencies: [
                "AGPSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The daemon's settings: one layered reader (defaults, YAML file, SLOTGATE_* env, flags), validated.
        .target(
            name: "SlotgateConfig",
            dependencies: [
                "SlotgateCore",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Where leases live across restarts: the store protocol and the embedded SQLite ledger (GRDB).
        .target(
            name: "SlotgateStore",
            dependencies: [
                "SlotgateCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Shared mode: the fleet's one gatekeeper state in PostgreSQL, the poller election and LISTEN/NOTIFY.
        .target(
            name: "SlotgateFleet",
            dependencies: [
                "SlotgateCore", "SlotgateUpstream",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // libsystemd, through pkg-config.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // A thin Swift layer over libsystemd: notify, socket activation fds, journald.
        .target(
            name: "SlotgateSystemd",
            dependencies: [
                "CSystemd",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The local API on the Unix socket: leases, long-poll and streamed waits, the proxy, metrics.
        .target(
            name: "SlotgateServer",
            dependencies: [
                "SlotgateCore", "SlotgateUpstream",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Wiring of the daemon: config, services in one group, signals, the embedded simulator.
        .target(
            name: "SlotgateDaemon",
            dependencies: [
                "SlotgateCore", "SlotgateUpstream", "SlotgateServer", "SlotgateConfig", "AGPSimulator", "SlotgateStore", "SlotgateSystemd",
                "SlotgateFleet",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "slotgated",
            dependencies: [
                "SlotgateDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // A client of the local API over the Unix socket, for the CLI and the tests.
        .target(
            name: "SlotgateClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "slotgate",
            dependencies: [
                "SlotgateClient", "SlotgateDaemon", "SlotgateConfig",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fakes shared by the test targets and the benchmarks.
        .target(
            name: "SlotgateTesting",
            dependencies: ["SlotgateCore"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "slotgate-bench",
            dependencies: [
                "SlotgateCore", "SlotgateTesting", "SlotgateStore",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/SlotgateBenchmarks",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SlotgateCoreTests",
            dependencies: ["SlotgateCore", "SlotgateTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SlotgateUpstreamTests",
            dependencies: [
                "SlotgateUpstream", "AGPSimulator", "SlotgateTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SlotgateConfigTests",
            dependencies: [
                "SlotgateConfig", "SlotgateCore",
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SlotgateStoreTests",
            dependencies: ["SlotgateStore", "SlotgateCore", "SlotgateTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SlotgateFleetTests",
            dependencies: [
                "SlotgateFleet", "SlotgateCore", "SlotgateTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SlotgateSystemdTests",
            dependencies: [
                "SlotgateSystemd",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SlotgateServerTests",
            dependencies: [
                "SlotgateServer", "SlotgateDaemon", "SlotgateClient", "SlotgateTesting", "AGPSimulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        // End-to-end: the real slotgated and agp-sim binaries, real Unix sockets, many clients at once.
        .testTarget(
            name: "SlotgateEndToEndTests",
            dependencies: [
                "SlotgateClient", "SlotgateTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AGPSimulatorTests",
            dependencies: [
                "AGPSimulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
