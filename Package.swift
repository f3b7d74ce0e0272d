// swift-tools-version: 6.2
import PackageDescription

// Layout is fixed by the design: services/<name> holds one service (a library
// target with the logic, a thin executable), shared/ holds what every service
// uses and the C system libraries, each wrapped once.

let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let lifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let nio: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let atomics: Target.Dependency = .product(name: "Atomics", package: "swift-atomics")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let hummingbirdTesting: Target.Dependency = .product(name: "HummingbirdTesting", package: "hummingbird")

let package = Package(
    name: "beacon",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "beacon-tracker", targets: ["beacon-tracker"]),
        .executable(name: "beacon-enricher", targets: ["beacon-enricher"]),
        .executable(name: "beacon-liveview", targets: ["beacon-liveview"]),
        .executable(name: "beacon-consumers", targets: ["beacon-consumers"]),
        .executable(name: "beacon-pusher", targets: ["beacon-pusher"]),
        .executable(name: "beacon-pinger", targets: ["beacon-pinger"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: ["YAML"]),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
    ],
    targets: [
        // C libraries, found through pkg-config.
        .systemLibrary(name: "CHiredis", path: "shared/CHiredis", pkgConfig: "hiredis",
                       providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CRdKafka", path: "shared/CRdKafka", pkgConfig: "rdkafka",
                       providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CMaxMindDB", path: "shared/CMaxMindDB", pkgConfig: "libmaxminddb",
                       providers: [.apt(["libmaxminddb-dev"])]),
        .systemLibrary(name: "CMongoc", path: "shared/CMongoc", pkgConfig: "libmongoc-1.0",
                       providers: [.apt(["libmongoc-dev"])]),

        // Swift wrappers, one per C library, so a service links only what it uses.
        // Each also speaks BeaconCore's terms: its errors say whether they are
        // permanent, its settings are typed, its loops are hosted there.
        .target(name: "BeaconRedis", dependencies: ["CHiredis", "BeaconCore"], path: "shared/Sources/BeaconRedis"),
        .target(name: "BeaconKafka", dependencies: ["CRdKafka", "BeaconCore", logging, metrics, lifecycle], path: "shared/Sources/BeaconKafka"),
        .target(name: "BeaconGeoIP", dependencies: ["CMaxMindDB"], path: "shared/Sources/BeaconGeoIP"),
        .target(name: "BeaconMongo", dependencies: ["CMongoc", "BeaconCore"], path: "shared/Sources/BeaconMongo"),
        // HPKE sealing of mail credentials: the tracker seals, only the pinger opens.
        .target(name: "BeaconSealing", dependencies: [.product(name: "Crypto", package: "swift-crypto")], path: "shared/Sources/BeaconSealing"),

        // Event model, push contract, settings, errors, loop hosting, the
        // services' entry point, logging, metrics, health.
        .target(
            name: "BeaconCore",
            dependencies: [
                hummingbird, logging, metrics, lifecycle, nio, atomics,
                .product(name: "NIOPosix", package: "swift-nio"), "Yams",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "shared/Sources/BeaconCore"
        ),

        // tracker: public intake, Segment API and pixel -> Redis Stream.
        .target(name: "TrackerService",
                dependencies: ["BeaconCore", "BeaconRedis", "BeaconSealing", hummingbird, atomics, .product(name: "CompressNIO", package: "compress-nio"),
                               // HTTPIntake/ and Connections/: plain NIO handlers, in Hummingbird's child channel.
                               nio, .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                               .product(name: "HummingbirdCore", package: "hummingbird"),
                               // Mail/: the stop token's HMAC.
                               .product(name: "Crypto", package: "swift-crypto")],
                path: "services/tracker/Sources"),
        .executableTarget(name: "beacon-tracker", dependencies: ["TrackerService", "BeaconCore"], path: "services/tracker/Main"),

        // enricher: Redis Streams -> validate, GeoIP, device -> Kafka.
        .target(
            name: "EnricherService",
            dependencies: ["BeaconCore", "BeaconRedis", "BeaconKafka", "BeaconGeoIP", hummingbird, "Yams"],
            path: "services/enricher/Sources"
        ),
        .executableTarget(name: "beacon-enricher", dependencies: ["EnricherService", "BeaconCore"], path: "services/enricher/Main"),

        // liveview: any topic -> WebSocket -> browser.
        .target(
            name: "LiveViewService",
            dependencies: [
                "BeaconCore", "BeaconKafka", hummingbird,
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ],
            path: "services/liveview/Sources",
            // The page: index.html, liveview.css, liveview.js.
            resources: [.copy("Page/Assets")]
        ),
        .executableTarget(name: "beacon-liveview", dependencies: ["LiveViewService", "BeaconCore"], path: "services/liveview/Main"),

        // consumers: beacon.events -> device registry, rules (push requests, webhooks), counters.
        .target(
            name: "ConsumersService",
            dependencies: [
                "BeaconCore", "BeaconKafka", "BeaconRedis", "BeaconMongo", hummingbird, "Yams", atomics, argumentParser,
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "services/consumers/Sources"
        ),
        .executableTarget(name: "beacon-consumers", dependencies: ["ConsumersService", "BeaconCore"], path: "services/consumers/Main"),

        // pusher: beacon.push.* -> APNs (HTTP/2, ES256 token auth) and FCM HTTP v1 (OAuth2).
        .target(
            name: "PusherService",
            dependencies: [
                "BeaconCore", "BeaconKafka", "BeaconMongo", hummingbird, atomics, nio,
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "services/pusher/Sources"
        ),
        .executableTarget(name: "beacon-pusher", dependencies: ["PusherService", "BeaconCore"], path: "services/pusher/Main"),

        // pinger: beacon.mail.registrations -> one IMAP session per mailbox (IDLE or polling) -> beacon.push.*.
        .target(
            name: "PingerService",
            dependencies: [
                "BeaconCore", "BeaconKafka", "BeaconMongo", "BeaconSealing", hummingbird, atomics, nio,
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "services/pinger/Sources"
        ),
        .executableTarget(name: "beacon-pinger", dependencies: ["PingerService", "BeaconCore"], path: "services/pinger/Main"),

        // Tests run against the real servers that `make test` starts.
        .target(
            name: "BeaconTestSupport",
            dependencies: [
                "BeaconCore", "BeaconRedis", "BeaconKafka", hummingbird, logging, lifecycle,
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                // Stand-ins for APNs (HTTP/2 over TLS) and FCM (OAuth2 + messages:send).
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tests/Support"
        ),
        // `make bench`'s probes: load generator, latency watchers, Kafka ceiling, APNs stand-in.
        .executableTarget(
            name: "beacon-bench",
            dependencies: [
                "BeaconTestSupport", "BeaconKafka", "BeaconCore", argumentParser,
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "bench/Tool"
        ),
        .testTarget(name: "SharedTests",
                    dependencies: ["BeaconCore", "BeaconRedis", "BeaconKafka", "BeaconGeoIP", "BeaconMongo", "BeaconSealing", "BeaconTestSupport",
                                   .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle")],
                    path: "Tests/SharedTests"),
        .testTarget(name: "TrackerTests", dependencies: ["TrackerService", "BeaconTestSupport", hummingbirdTesting,
                                                         .product(name: "CompressNIO", package: "compress-nio"),
                                                         .product(name: "NIOEmbedded", package: "swift-nio"),
                                                         .product(name: "NIOHTTP1", package: "swift-nio")], path: "Tests/TrackerTests"),
        .testTarget(name: "EnricherTests", dependencies: ["EnricherService", "BeaconTestSupport", "Yams", hummingbirdTesting], path: "Tests/EnricherTests"),
        .testTarget(name: "ConsumersTests", dependencies: ["ConsumersService", "BeaconTestSupport", "BeaconMongo", "BeaconRedis", hummingbirdTesting],
                    path: "Tests/ConsumersTests"),
        .testTarget(name: "PusherTests", dependencies: ["PusherService", "BeaconTestSupport", hummingbirdTesting], path: "Tests/PusherTests"),
        .testTarget(name: "PingerTests", dependencies: [
                        "PingerService", "BeaconTestSupport", "BeaconSealing", "BeaconMongo", "BeaconKafka", "BeaconRedis", hummingbirdTesting,
                        .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                        .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                        .product(name: "Crypto", package: "swift-crypto"),
                    ], path: "Tests/PingerTests"),
        .testTarget(name: "LiveViewTests", dependencies: ["LiveViewService", "BeaconTestSupport", hummingbirdTesting], path: "Tests/LiveViewTests"),
        .testTarget(name: "EndToEndTests", dependencies: [
                        "BeaconTestSupport", "BeaconCore", "BeaconKafka", "BeaconRedis", "BeaconMongo",
                        .product(name: "Crypto", package: "swift-crypto"),
                    ],
                    path: "Tests/EndToEndTests"),
    ]
)
